#include "core/key_state.hpp"
#include "infra/usage_json.hpp"
#include "server/key_listing.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>

using namespace keygate;
using namespace std::chrono_literals;
using json = nlohmann::ordered_json;

namespace {

KeyEntry entry(const std::string& id, const std::string& role = "viewer") {
    KeyEntry e;
    e.id = id;
    e.role = role;
    e.tenant = "acme";
    e.secret = {HashKind::sha256, sha256("test-secret-of-" + id)};
    e.line = 10;
    return e;
}

/// True when `text` holds a run of 16 or more hex digits (a hash or a part of one).
bool holds_hex_run(const std::string& text) {
    std::size_t run = 0;
    for (const char c : text) {
        run = std::isxdigit(static_cast<unsigned char>(c)) != 0 ? run + 1 : 0;
        if (run >= 16)
            return true;
    }
    return false;
}

} // namespace

TEST_CASE("key_state: disabled wins over expired over pending", "[keys]") {
    const TimePoint now = *parse_timestamp("2025-06-01");
    KeyEntry e = entry("k");
    CHECK(key_state(e, now) == KeyState::active);
    e.not_before = *parse_timestamp("2026-01-01");
    CHECK(key_state(e, now) == KeyState::pending);
    e.expires_at = *parse_timestamp("2025-01-01");
    CHECK(key_state(e, now) == KeyState::expired);
    e.enabled = false;
    CHECK(key_state(e, now) == KeyState::disabled);
    CHECK(std::string(to_string(KeyState::pending)) == "pending");
    // expires_at is exclusive: at that instant the key is expired
    KeyEntry edge = entry("edge");
    edge.expires_at = now;
    CHECK(key_state(edge, now) == KeyState::expired);
    edge.expires_at = now + 1ms;
    CHECK(key_state(edge, now) == KeyState::active);
}

TEST_CASE("key listing: every reviewable field and never a secret or hash", "[keys]") {
    Config c;
    c.roles = builtin_roles();
    KeyEntry a = entry("acme-analysts", "analyst");
    a.description = "Acme analysts";
    a.secret_was_plaintext = true;
    a.allowed_datasets = std::vector<std::string>{"orders", "cust*"};
    a.denied_datasets = {"orders_raw"};
    a.rate_limit = 100;
    a.daily_limit = 10000;
    a.expires_at = *parse_timestamp("2030-01-01");
    a.ip_allowlist.push_back(*parse_cidr("10.0.0.0/8"));
    a.previous_keys.push_back(
        {{HashKind::sha256, sha256("test-old-secret")}, *parse_timestamp("2025-07-01")});
    c.api_keys.push_back(a);
    KeyEntry ops = entry("ops", "admin");
    ops.tenant.reset();
    ops.secret = {HashKind::hmac_sha256, sha256("x")};
    ops.line = 0;
    c.api_keys.push_back(ops);
    const auto store = KeyStore::build(c, std::string("test-pepper"));
    const TimePoint now = *parse_timestamp("2025-06-01");

    const json one = key_json(*store->find_by_id("acme-analysts"), *store, now);
    CHECK(
        one.dump() ==
        R"({"id":"acme-analysts","description":"Acme analysts","tenant":"acme","role":"analyst",)"
        R"("permissions":["read","write"],"rls":"apply","allowed_datasets":["orders","cust*"],)"
        R"("denied_datasets":["orders_raw"],"state":"active","enabled":true,"not_before":null,)"
        R"("expires_at":"2030-01-01T00:00:00Z","rate_limit":100,"daily_limit":10000,)"
        R"("ip_allowlist":["10.0.0.0/8"],"secret_format":"plaintext","source":"file",)"
        R"("previous_keys":[{"expires_at":"2025-07-01T00:00:00Z","active":true}],"grace_until":null})");

    const json all = key_list_json(*store, now);
    CHECK(all["count"] == 2);
    REQUIRE(all["keys"].size() == 2);
    CHECK(all["keys"][1]["id"] == "ops");
    CHECK(all["keys"][1]["tenant"].is_null());
    CHECK(all["keys"][1]["rls"] == "bypass");
    CHECK(all["keys"][1]["secret_format"] == "hmac-sha256");
    CHECK(all["keys"][1]["source"] == "environment");
    CHECK(all["keys"][1]["rate_limit"].is_null());
    // docs/audit-and-metrics.md: no ip_allowlist (or an empty one) is [], never null.
    CHECK(all["keys"][1]["ip_allowlist"].is_array());
    CHECK(all["keys"][1]["ip_allowlist"].empty());
    const std::string text = all.dump();
    CHECK_FALSE(holds_hex_run(text));
    CHECK(text.find("test-secret-of") == std::string::npos);
    CHECK(text.find("test-pepper") == std::string::npos);
}

TEST_CASE("key listing: an open automatic grace window shows its end", "[keys]") {
    Config c;
    c.roles = builtin_roles();
    c.api_keys.push_back(entry("rotated"));
    const TimePoint now = *parse_timestamp("2025-06-01");
    std::vector<GraceSecret> grace{
        {{HashKind::sha256, sha256("test-old")}, entry("rotated"), now + 1h},
        {{HashKind::sha256, sha256("test-older")}, entry("rotated"), now - 1h}};
    const auto store = KeyStore::build(c, {}, grace);
    CHECK(key_json(store->keys()[0], *store, now)["grace_until"] == "2025-06-01T01:00:00Z");
    CHECK(key_json(store->keys()[0], *store, now + 2h)["grace_until"].is_null());
}

TEST_CASE("usage json: the contract's fields in order, null when unknown", "[keys][usage]") {
    KeyUsage u;
    u.key_id = "acme";
    CHECK(usage_json(u).dump() ==
          R"({"key_id":"acme","window_start":null,"request_count":0,"rate_limit":null,)"
          R"("remaining":null,"reset_at":null,"daily_count":0,"daily_limit":null,)"
          R"("last_used":null,"total_requests":0,"avg_requests_per_day":0.0})");
    const TimePoint t = *parse_timestamp("2025-06-01T12:00:00Z");
    u.request_count = 3;
    u.rate_limit = 100;
    u.remaining = 97;
    u.reset_at = t + 1800ms;
    u.window_start = t + 1800ms - 60s;
    u.daily_count = 3;
    u.daily_limit = 1000;
    u.last_used = t;
    u.total_requests = 5;
    u.avg_requests_per_day = 5.0 / 3.0;
    CHECK(usage_json(u).dump() ==
          R"({"key_id":"acme","window_start":"2025-06-01T11:59:01.800Z","request_count":3,)"
          R"("rate_limit":100,"remaining":97,"reset_at":"2025-06-01T12:00:01.800Z",)"
          R"("daily_count":3,"daily_limit":1000,"last_used":"2025-06-01T12:00:00.000Z",)"
          R"("total_requests":5,"avg_requests_per_day":1.67})");
}
