#include "server/access_events.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate;

TEST_CASE("access events: one object or an array, validated all or nothing", "[audit]") {
    const auto one = parse_access_batch(
        R"({"endpoint":"/v1/query","dataset":"orders","method":"POST","status":200,"rows":42,)"
        R"("duration_ms":12.5,"ip_address":"10.0.0.1","user_agent":"PowerBI/2.0",)"
        R"("request_id":"r1","timestamp":"2025-01-01T00:00:00Z","extra":{"query":"q1"}})");
    REQUIRE(one);
    REQUIRE(one->size() == 1);
    CHECK(
        one->at(0).dump() ==
        R"({"event":"access","endpoint":"/v1/query","dataset":"orders","method":"POST","status":200,)"
        R"("rows":42,"duration_ms":12.5,"ip_address":"10.0.0.1","user_agent":"PowerBI/2.0",)"
        R"("request_id":"r1","timestamp":"2025-01-01T00:00:00Z","extra":{"query":"q1"}})");
    const auto batch = parse_access_batch(R"([{"endpoint":"/a"},{"endpoint":"/b","rows":0}])");
    REQUIRE(batch);
    CHECK(batch->size() == 2);
}

TEST_CASE("access events: bad batches name the event and field", "[audit]") {
    const auto error = [](const std::string& body) {
        const auto r = parse_access_batch(body);
        REQUIRE_FALSE(r);
        return std::to_string(r.error().status) + " " + r.error().detail;
    };
    CHECK(error("not json") == "400 body is not valid JSON");
    CHECK(error("42") == "400 body must be an event object or an array");
    CHECK(error(R"({"dataset":"x"})") == "400 event: missing 'endpoint'");
    CHECK(error(R"([{"endpoint":"/a"},{"endpoint":1}])") ==
          "400 event 1: 'endpoint' must be a string");
    CHECK(error(R"([{"endpoint":"/a","rows":-1}])") ==
          "400 event 0: 'rows' must be a non-negative integer");
    CHECK(error(R"({"endpoint":"/a","ip_address":"nope"})") ==
          "400 event: 'ip_address' is not an IP address");
    CHECK(error(R"({"endpoint":"/a","timestamp":"yesterday"})") ==
          "400 event: 'timestamp' is not an RFC 3339 timestamp");
    CHECK(error(R"({"endpoint":"/a","api_key":"pk_x_secret"})") ==
          "400 event: unknown field 'api_key'");
    CHECK(error(R"({"endpoint":"/a","extra":[1]})") == "400 event: 'extra' must be an object");
    std::string big = "[";
    for (int i = 0; i < 1001; ++i)
        big += std::string(i ? "," : "") + R"({"endpoint":"/a"})";
    big += "]";
    CHECK(error(big) == "413 at most 1000 events per batch");
}

TEST_CASE("access events: enriched from the presented key or key_id", "[audit]") {
    Config config;
    config.roles = builtin_roles();
    KeyEntry e;
    e.id = "acme-analysts";
    e.role = "analyst";
    e.tenant = "acme_corp";
    e.secret = {HashKind::sha256, sha256("x")};
    config.api_keys.push_back(e);
    const auto store = KeyStore::build(config);
    auto events = *parse_access_batch(R"({"endpoint":"/a","key_id":"acme-analysts"})");
    enrich_access_event(events[0], {}, *store);
    CHECK(events[0]["tenant"] == "acme_corp");
    CHECK(events[0]["role"] == "analyst");
    CHECK_FALSE(events[0].contains("api_key"));
    auto presented = *parse_access_batch(R"({"endpoint":"/a"})");
    enrich_access_event(presented[0], {store->find_by_id("acme-analysts"), "pk_acme_***"}, *store);
    CHECK(presented[0]["key_id"] == "acme-analysts");
    CHECK(presented[0]["api_key"] == "pk_acme_***");
}

// Found by fuzz/fuzz_audit_body (corpus/fuzz_audit_body/regressions/deep_extra): `extra`
// nested 200000 levels deep overflowed the stack when the event was dumped.
TEST_CASE("access events: regression: a deeply nested body is refused, not dumped", "[audit]") {
    const std::size_t depth = 200000;
    const std::string body = R"({"endpoint":"/a","extra":{"a":)" + std::string(depth, '[') +
                             std::string(depth, ']') + "}}";
    const auto r = parse_access_batch(body);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 400);
    CHECK(r.error().detail == "body is nested too deeply");
    const auto ok = parse_access_batch(R"({"endpoint":"/a","extra":{"a":[[[{"b":[1]}]]]}})");
    REQUIRE(ok);
    CHECK(ok->at(0)["extra"].dump() == R"({"a":[[[{"b":[1]}]]]})");
}
