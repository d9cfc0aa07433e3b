#include "core/decide.hpp"
#include "core/grace.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

const TimePoint k_t0 = *parse_timestamp("2025-03-01T12:00:00Z");

KeyEntry entry(const char* id, const char* secret, const char* role = "viewer") {
    KeyEntry e;
    e.id = id;
    e.role = role;
    e.tenant = "acme";
    e.secret = {HashKind::sha256, sha256(secret)};
    return e;
}

Config config_of(std::vector<KeyEntry> keys) {
    Config c;
    c.roles = builtin_roles();
    c.api_keys = std::move(keys);
    return c;
}

AuthRequest with_key(const char* key) {
    AuthRequest r;
    r.key = key;
    r.client_ip = *parse_ip("127.0.0.1");
    return r;
}

} // namespace

TEST_CASE("grace: a replaced secret keeps working for the grace period", "[grace]") {
    const auto old_store = KeyStore::build(config_of({entry("a", "old-secret-a")}));
    const Config next = config_of({entry("a", "new-secret-a", "analyst")});
    const auto windows = grace_windows_for(*old_store, next, 10min, k_t0);
    REQUIRE(windows.size() == 1);
    CHECK(windows[0].until == k_t0 + 10min);
    CHECK(windows[0].entry.role == "analyst"); // the id stays: the new attributes apply
    const auto store = KeyStore::build(next, std::nullopt, windows);
    const auto d = decide(*store, with_key("old-secret-a"), k_t0 + 5min);
    CHECK(d.code == DecisionCode::ok);
    CHECK(d.grace_until == k_t0 + 10min);
    CHECK(decide(*store, with_key("old-secret-a"), k_t0 + 10min).code == DecisionCode::invalid_key);
    CHECK(decide(*store, with_key("new-secret-a"), k_t0).code == DecisionCode::ok);
}

TEST_CASE("grace: zero period revokes at once", "[grace]") {
    const auto old_store = KeyStore::build(config_of({entry("a", "old-secret-a")}));
    CHECK(grace_windows_for(*old_store, config_of({}), 0s, k_t0).empty());
}

TEST_CASE("grace: a removed key keeps its old attributes", "[grace]") {
    const auto old_store = KeyStore::build(config_of({entry("gone", "gone-secret")}));
    const auto windows = grace_windows_for(*old_store, config_of({}), 1h, k_t0);
    REQUIRE(windows.size() == 1);
    CHECK(windows[0].entry.id == "gone");
    CHECK(windows[0].entry.role == "viewer");
}

TEST_CASE("grace: enabled false in the new file revokes at once", "[grace]") {
    const auto old_store = KeyStore::build(config_of({entry("a", "secret-a")}));
    auto disabled = entry("a", "secret-a-new");
    disabled.enabled = false;
    CHECK(grace_windows_for(*old_store, config_of({disabled}), 1h, k_t0).empty());
}

TEST_CASE("grace: open windows carry over, ended ones do not, named ones vanish", "[grace]") {
    const auto s1 = KeyStore::build(config_of({entry("a", "s1")}));
    const Config c2 = config_of({entry("a", "s2")});
    const auto s2 = KeyStore::build(c2, std::nullopt, grace_windows_for(*s1, c2, 10min, k_t0));
    // third reload with grace 0: s1's window (open) carries over, s2 gets none
    const Config c3 = config_of({entry("a", "s3")});
    auto w3 = grace_windows_for(*s2, c3, 0s, k_t0 + 1min);
    REQUIRE(w3.size() == 1);
    CHECK(w3[0].secret.digest == sha256("s1"));
    // after the window ended nothing carries over
    CHECK(grace_windows_for(*s2, c3, 0s, k_t0 + 11min).empty());
    // a file that names the old secret again needs no window
    const Config back = config_of({entry("a", "s1")});
    CHECK(grace_windows_for(*s2, back, 0s, k_t0 + 1min).empty());
}
