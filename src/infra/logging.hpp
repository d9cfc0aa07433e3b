#pragma once
// The operational log: spdlog on stderr, as text or JSON lines (KEYGATE_LOG_LEVEL,
// KEYGATE_LOG_FORMAT). Never the audit log's stream, never a key or a hash.
#include "core/result.hpp"

#include <memory>
#include <optional>
#include <spdlog/common.h>
#include <spdlog/formatter.h>
#include <string>

namespace keygate {

/// How operational log lines look.
enum class LogFormat { text, json };

/// Where the operational log's level and format come from.
struct LogSettings {
    spdlog::level::level_enum level = spdlog::level::info;
    LogFormat format = LogFormat::text;
};

/// Parses KEYGATE_LOG_LEVEL (trace, debug, info, warn/warning, error, critical, off) and
/// KEYGATE_LOG_FORMAT (text, json), each case-insensitive; nullopt keeps the default.
Result<LogSettings> parse_log_settings(const std::optional<std::string>& level,
                                       const std::optional<std::string>& format);

/// The formatter of a log format (exposed for tests).
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format);

/// Installs spdlog's default logger: stderr, UTC timestamps, the given level and format.
/// Text: `2024-01-15T10:30:00.123Z info listening on 127.0.0.1:8090`.
/// JSON: `{"timestamp":"...","level":"info","message":"..."}`. Call once at start-up.
void configure_logging(const LogSettings& settings);

} // namespace keygate
