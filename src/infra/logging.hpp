#pragma once
// The operational log: spdlog on stderr, as text or JSON lines (KEYGATE_LOG_LEVEL,
// KEYGATE_LOG_FORMAT). Never the audit log's stream, never a key or a hash. A line may carry
// fields (log_event): JSON lines hold each as a key of their own, so that a log pipeline
// can filter on `path` or `generation` without parsing the message; text lines show the
// message, which says the same in words.
#include "core/result.hpp"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <spdlog/common.h>
#include <spdlog/formatter.h>
#include <string>
#include <string_view>
#include <variant>

namespace keygate {

/// How operational log lines look.
enum class LogFormat { text, json };

/// Where the operational log's level and format come from.
struct LogSettings {
    spdlog::level::level_enum level = spdlog::level::info;
    LogFormat format = LogFormat::text;
};

/// The one spelling of each level, in KEYGATE_LOG_LEVEL and in every line: "trace",
/// "debug", "info", "warn", "error", "critical" ("off" for the setting).
std::string_view level_name(spdlog::level::level_enum level);

/// Parses KEYGATE_LOG_LEVEL (trace, debug, info, warn, error, critical, off) and
/// KEYGATE_LOG_FORMAT (text, json), each case-insensitive; nullopt keeps the default.
/// Another spelling ("warning") is refused, with the one to use.
Result<LogSettings> parse_log_settings(const std::optional<std::string>& level,
                                       const std::optional<std::string>& format);

/// One field of a log line: a key and a string, integer, number or boolean value.
struct LogField {
    using Value = std::variant<std::string, std::int64_t, double, bool>;

    /// A string field.
    LogField(std::string_view field_key, std::string_view text)
        : key(field_key), value(std::string(text)) {}
    /// A string field (a literal).
    LogField(std::string_view field_key, const char* text)
        : key(field_key), value(std::string(text)) {}
    /// A string field.
    LogField(std::string_view field_key, const std::string& text) : key(field_key), value(text) {}
    /// A boolean field.
    LogField(std::string_view field_key, bool flag) : key(field_key), value(flag) {}
    /// A number field.
    LogField(std::string_view field_key, double number) : key(field_key), value(number) {}
    /// An integer field.
    template <class Integer>
    requires std::is_integral_v<Integer> LogField(std::string_view field_key, Integer number)
        : key(field_key), value(static_cast<std::int64_t>(number)) {}

    std::string key; ///< never "timestamp", "level" or "message"
    Value value;
};

/// Writes one line to the default logger at `level`, with `fields` (see the file comment).
/// Thread-safe (the logger is synchronous: the fields are read while the line is formatted).
void log_event(spdlog::level::level_enum level, std::string_view message,
               std::span<const LogField> fields);

/// log_event() with a literal list of fields.
inline void log_event(spdlog::level::level_enum level, std::string_view message,
                      std::initializer_list<LogField> fields = {}) {
    log_event(level, message, std::span<const LogField>(fields.begin(), fields.size()));
}

/// The formatter of a log format (exposed for tests). It reads the fields of log_event()
/// on the calling thread.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

/// Installs spdlog's default logger: stderr, UTC timestamps, the given level and format.
/// Text: `2024-01-15T10:30:00.123Z info listening on 127.0.0.1:8090`.
/// JSON: `{"timestamp":"...","level":"info","message":"...","listen":"127.0.0.1:8090"}`.
/// Call once at start-up.
void configure_logging(const LogSettings& settings);

} // namespace keygate
