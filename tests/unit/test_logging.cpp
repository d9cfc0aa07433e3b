// Operational log settings and line formats.
#include "infra/logging.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

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

} // namespace

TEST_CASE("log settings: levels and formats", "[logging]") {
    CHECK(parse_log_settings(std::nullopt, std::nullopt)->level == spdlog::level::info);
    CHECK(parse_log_settings(std::string("warning"), std::nullopt)->level == spdlog::level::warn);
    CHECK(parse_log_settings(std::string("error"), std::nullopt)->level == spdlog::level::err);
    CHECK(parse_log_settings(std::string("off"), std::nullopt)->level == spdlog::level::off);
    CHECK(parse_log_settings(std::nullopt, std::string("JSON"))->format == LogFormat::json);
    CHECK_FALSE(parse_log_settings(std::string("verbose"), std::nullopt));
}

TEST_CASE("log lines: text and JSON", "[logging]") {
    const std::string text = format_line(LogFormat::text, "listening on 127.0.0.1:8090");
    CHECK(text.ends_with(" warning listening on 127.0.0.1:8090\n"));
    CHECK(text[4] == '-');
    CHECK(text[23] == 'Z');

    const std::string json = format_line(LogFormat::json, "bad \"value\"\n\x01\xff");
    REQUIRE(json.ends_with("}\n"));
    const auto parsed = nlohmann::json::parse(json);
    CHECK(parsed["level"] == "warning");
    CHECK(parsed["message"] == "bad \"value\"\n\x01\xEF\xBF\xBD");
    CHECK(parsed["timestamp"].get<std::string>().ends_with("Z"));
}
