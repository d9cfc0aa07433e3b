// Operational log settings and line formats.
#include "infra/logging.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>

using namespace keygate;

namespace {

std::string format_line(LogFormat format, std::string_view message) {
    const auto formatter = make_log_formatter(format);
    spdlog::details::log_msg msg(spdlog::source_loc{}, "keygate", spdlog::level::warn,
                                 spdlog::string_view_t(message.data(), message.size()));
    spdlog::memory_buf_t out;
    formatter->format(msg, out);
    return std::string(out.data(), out.size());
}

/// Installs a default logger writing to a string for the life of the object.
class CapturedLog {
  public:
    CapturedLog(LogFormat format, spdlog::level::level_enum level) {
        previous_ = spdlog::default_logger();
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
        logger->set_formatter(make_log_formatter(format));
        logger->set_level(level);
        spdlog::set_default_logger(std::move(logger));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    std::string text() const { return out_.str(); }

  private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

} // namespace

TEST_CASE("log settings: levels and formats", "[logging]") {
    CHECK(parse_log_settings(std::nullopt, std::nullopt)->level == spdlog::level::info);
    CHECK(parse_log_settings(std::string("warn"), std::nullopt)->level == spdlog::level::warn);
    CHECK(parse_log_settings(std::string("WARN"), std::nullopt)->level == spdlog::level::warn);
    CHECK(parse_log_settings(std::string("debug"), std::nullopt)->level == spdlog::level::debug);
    CHECK(parse_log_settings(std::string("error"), std::nullopt)->level == spdlog::level::err);
    CHECK(parse_log_settings(std::string("off"), std::nullopt)->level == spdlog::level::off);
    CHECK(parse_log_settings(std::nullopt, std::string("JSON"))->format == LogFormat::json);
    CHECK_FALSE(parse_log_settings(std::string("verbose"), std::nullopt));
}

TEST_CASE("log levels have one spelling, in settings and in lines", "[logging]") {
    const auto warning = parse_log_settings(std::string("warning"), std::nullopt);
    REQUIRE_FALSE(warning);
    CHECK(warning.error().message ==
          "KEYGATE_LOG_LEVEL: unknown level 'warning' (the level is spelt 'warn') (expected "
          "trace, debug, info, warn, error, critical or off)");
    CHECK_FALSE(parse_log_settings(std::string("err"), std::nullopt));
    for (const auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                             spdlog::level::warn, spdlog::level::err, spdlog::level::critical}) {
        const std::string name(level_name(level));
        INFO(name);
        CHECK(parse_log_settings(name, std::nullopt)->level == level);
    }
    CHECK(level_name(spdlog::level::warn) == "warn");
    CHECK(level_name(spdlog::level::err) == "error");
}

TEST_CASE("log lines: text and JSON", "[logging]") {
    const std::string text = format_line(LogFormat::text, "listening on 127.0.0.1:8090");
    CHECK(text.ends_with(" warn listening on 127.0.0.1:8090\n"));
    CHECK(text[4] == '-');
    CHECK(text[23] == 'Z');

    const std::string json = format_line(LogFormat::json, "bad \"value\"\n\x01\xff");
    REQUIRE(json.ends_with("}\n"));
    const auto parsed = nlohmann::json::parse(json);
    CHECK(parsed["level"] == "warn");
    CHECK(parsed["message"] == "bad \"value\"\n\x01\xEF\xBF\xBD");
    CHECK(parsed["timestamp"].get<std::string>().ends_with("Z"));
    CHECK(parsed.size() == 3);
}

TEST_CASE("log_event: JSON lines carry the fields as keys", "[logging]") {
    const CapturedLog log(LogFormat::json, spdlog::level::info);
    log_event(spdlog::level::info, "reloaded keys.yaml",
              {{"path", "keys.yaml"},
               {"generation", std::uint64_t{7}},
               {"keys", std::size_t{3}},
               {"duration_ms", 1.5},
               {"ok", true},
               {"error", std::string("line 1\n\"quoted\"")}});
    log_event(spdlog::level::debug, "not shown at info", {{"path", "x"}});
    spdlog::info("a plain line");
    std::istringstream lines(log.text());
    std::string line;
    REQUIRE(std::getline(lines, line));
    const auto first = nlohmann::json::parse(line);
    CHECK(first["level"] == "info");
    CHECK(first["message"] == "reloaded keys.yaml");
    CHECK(first["path"] == "keys.yaml");
    CHECK(first["generation"] == 7);
    CHECK(first["keys"] == 3);
    CHECK(first["duration_ms"] == 1.5);
    CHECK(first["ok"] == true);
    CHECK(first["error"] == "line 1\n\"quoted\"");
    REQUIRE(std::getline(lines, line));
    const auto plain = nlohmann::json::parse(line);
    CHECK(plain["message"] == "a plain line");
    CHECK(plain.size() == 3); // the fields of the line before are gone
    CHECK_FALSE(std::getline(lines, line));
}

TEST_CASE("log_event: text lines show the message only", "[logging]") {
    const CapturedLog log(LogFormat::text, spdlog::level::debug);
    log_event(spdlog::level::debug, "reload of k.yaml (api): unchanged", {{"path", "k.yaml"}});
    CHECK(log.text().ends_with(" debug reload of k.yaml (api): unchanged\n"));
    CHECK(log.text().find("path") == std::string::npos);
}
