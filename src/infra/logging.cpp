// spdlog set-up for the operational log.
#include "infra/logging.hpp"

#include "core/time.hpp"
#include "infra/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace keygate {
namespace {

std::string lower(std::string text) {
    std::ranges::transform(text, text.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// One JSON object per line; the message is escaped, so any text yields valid JSON.
class JsonLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        std::string line = R"({"timestamp":")";
        line += format_timestamp(std::chrono::time_point_cast<Duration>(msg.time), true);
        line += R"(","level":")";
        const auto level = spdlog::level::to_string_view(msg.level);
        line.append(level.data(), level.size());
        line += R"(","message":)";
        append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
        line += "}\n";
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLogFormatter>();
    }
};

} // namespace

Result<LogSettings> parse_log_settings(const std::optional<std::string>& level,
                                       const std::optional<std::string>& format) {
    LogSettings settings;
    if (level) {
        const std::string name = lower(*level);
        using L = spdlog::level::level_enum;
        if (name == "trace")
            settings.level = L::trace;
        else if (name == "debug")
            settings.level = L::debug;
        else if (name == "info")
            settings.level = L::info;
        else if (name == "warn" || name == "warning")
            settings.level = L::warn;
        else if (name == "error")
            settings.level = L::err;
        else if (name == "critical")
            settings.level = L::critical;
        else if (name == "off")
            settings.level = L::off;
        else {
            return fail("KEYGATE_LOG_LEVEL: unknown level '" + *level +
                        "' (expected trace, debug, info, warn, error, critical or off)");
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

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format) {
    if (format == LogFormat::json)
        return std::make_unique<JsonLogFormatter>();
    return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                       spdlog::pattern_time_type::utc);
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
