// spdlog set-up for the operational log.
#include "infra/logging.hpp"

#include "core/time.hpp"
#include "infra/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace keygate {
namespace {

/// The fields of the line being logged on this thread (log_event sets them around the
/// call into the synchronous logger; a plain spdlog call has none).
thread_local std::span<const LogField> t_fields;

std::string lower(std::string text) {
    std::ranges::transform(text, text.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string timestamp_of(const spdlog::details::log_msg& msg) {
    return format_timestamp(std::chrono::time_point_cast<Duration>(msg.time), true);
}

void append_value(std::string& line, const LogField::Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) {
        append_json_string(line, *text);
    } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        line += std::to_string(*integer);
    } else if (const auto* number = std::get_if<double>(&value)) {
        // JSON has no NaN or infinity.
        line += std::isfinite(*number) ? fmt::format("{}", *number) : "null";
    } else {
        line += std::get<bool>(value) ? "true" : "false";
    }
}

/// One JSON object per line: timestamp, level, message, then the fields; every string is
/// escaped, so any text yields valid JSON.
class JsonLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        std::string line = R"({"timestamp":")";
        line += timestamp_of(msg);
        line += R"(","level":")";
        line += level_name(msg.level);
        line += R"(","message":)";
        append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
        for (const LogField& field : t_fields) {
            line += ',';
            append_json_string(line, field.key);
            line += ':';
            append_value(line, field.value);
        }
        line += "}\n";
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLogFormatter>();
    }
};

/// `TIMESTAMP LEVEL MESSAGE`: the message says in words what the fields hold.
class TextLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        std::string line = timestamp_of(msg);
        line += ' ';
        line += level_name(msg.level);
        line += ' ';
        line.append(msg.payload.data(), msg.payload.size());
        line += '\n';
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<TextLogFormatter>();
    }
};

} // namespace

std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace:
        return "trace";
    case spdlog::level::debug:
        return "debug";
    case spdlog::level::info:
        return "info";
    case spdlog::level::warn:
        return "warn";
    case spdlog::level::err:
        return "error";
    case spdlog::level::critical:
        return "critical";
    default:
        return "off";
    }
}

Result<LogSettings> parse_log_settings(const std::optional<std::string>& level,
                                       const std::optional<std::string>& format) {
    LogSettings settings;
    if (level) {
        const std::string name = lower(*level);
        bool known = false;
        for (const auto candidate :
             {spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
              spdlog::level::err, spdlog::level::critical, spdlog::level::off}) {
            if (name == level_name(candidate)) {
                settings.level = candidate;
                known = true;
            }
        }
        if (!known) {
            std::string message = "KEYGATE_LOG_LEVEL: unknown level '" + *level + "'";
            if (name == "warning")
                message += " (the level is spelt 'warn')";
            return fail(message + " (expected trace, debug, info, warn, error, critical or off)");
        }
    }
    if (format) {
        const std::string name = lower(*format);
        if (name == "text")
            settings.format = LogFormat::text;
        else if (name == "json")
            settings.format = LogFormat::json;
        else
            return fail("KEYGATE_LOG_FORMAT: unknown format '" + *format +
                        "' (expected text or json)");
    }
    return settings;
}

void log_event(spdlog::level::level_enum level, std::string_view message,
               std::span<const LogField> fields) {
    spdlog::logger* logger = spdlog::default_logger_raw();
    if (logger == nullptr || !logger->should_log(level))
        return;
    const std::span<const LogField> outer = t_fields;
    t_fields = fields;
    logger->log(level, spdlog::string_view_t(message.data(), message.size()));
    t_fields = outer;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
    if (format == LogFormat::json)
        return std::make_unique<JsonLogFormatter>();
    return std::make_unique<TextLogFormatter>();
}

void configure_logging(const LogSettings& settings) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("keygate", std::move(sink));
    logger->set_formatter(make_log_formatter(settings.format));
    logger->set_level(settings.level);
    // Operational lines are rare; flushing each keeps them in order with a crash.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

} // namespace keygate
