#include "infra/audit_line.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using json = nlohmann::ordered_json;

TEST_CASE("audit lines: control bytes and invalid UTF-8 stay valid JSON", "[audit]") {
    const std::string nasty = std::string("a\r\nb\x01\x7f") + "\xff\xfe" + "\xc3\xa9";
    const auto line = to_audit_line(json{{"event", "auth"}, {"user_agent", nasty}});
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    const auto parsed = json::parse(line);
    CHECK(parsed["event"] == "auth");
    CHECK(parsed["user_agent"].get<std::string>().find("\xc3\xa9") != std::string::npos);
}

TEST_CASE("audit lines: long fields are cut and marked, under 8 KiB", "[audit]") {
    const auto line = to_audit_line(json{{"event", "auth"},
                                         {"endpoint", std::string(20'000, 'e')},
                                         {"user_agent", std::string(9000, '\x01')}});
    CHECK(line.size() <= k_max_audit_line);
    const auto parsed = json::parse(line);
    CHECK(parsed["truncated"] == true);
    CHECK(parsed["event"] == "auth");
    const auto short_line = to_audit_line(json{{"event", "auth"}, {"endpoint", "/v1/query"}});
    CHECK(json::parse(short_line).contains("truncated") == false);
}

TEST_CASE("audit lines: huge nested extra collapses to the envelope", "[audit]") {
    json extra = json::object();
    for (int i = 0; i < 5000; ++i)
        extra["k" + std::to_string(i)] = i;
    const auto line =
        to_audit_line(json{{"event", "access"}, {"timestamp", "t"}, {"extra", extra}});
    CHECK(line.size() <= k_max_audit_line);
    const auto parsed = json::parse(line);
    CHECK(parsed["event"] == "access");
    CHECK(parsed["truncated"] == true);
}
