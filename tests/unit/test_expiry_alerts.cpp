// key_expiring alerts: a key entering its last 7 days, once per key per generation.
#include "infra/expiry_alerts.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

const TimePoint k_now = *parse_timestamp("2025-06-01T00:00:00Z");

std::shared_ptr<const KeyStore> store(bool alert = true) {
    Config c;
    c.roles = builtin_roles();
    c.settings.alerts.key_expiring = alert;
    const auto add = [&](const char* id, std::optional<TimePoint> expires_at) -> KeyEntry& {
        KeyEntry e;
        e.id = id;
        e.role = "admin";
        e.secret = {HashKind::sha256, sha256(id)};
        e.expires_at = expires_at;
        c.api_keys.push_back(e);
        return c.api_keys.back();
    };
    add("in-2d", k_now + 48h);
    add("in-8d", k_now + 24h * 8);
    add("forever", std::nullopt);
    add("expired", k_now - 1h);
    add("disabled", k_now + 24h).enabled = false;
    return KeyStore::build(c);
}

std::vector<std::string> ids(const std::vector<Alert>& alerts) {
    std::vector<std::string> out;
    for (const auto& a : alerts)
        out.push_back(*a.key_id);
    return out;
}

} // namespace

TEST_CASE("expiry alerts: once per key per generation, when the key enters its last 7 days",
          "[alerts]") {
    const auto keys = store();
    ExpiryAlerts expiry;
    const auto first = expiry.scan(*keys, 1, k_now);
    REQUIRE(ids(first) == std::vector<std::string>{"in-2d"});
    CHECK(first[0].type == AlertType::key_expiring);
    CHECK(first[0].timestamp == k_now);
    CHECK(first[0].count == 1);
    CHECK(first[0].window == 24h * 7);
    CHECK(first[0].expires_at == k_now + 48h);
    CHECK_FALSE(first[0].ip_address);
    CHECK(first[0].detail == "key in-2d expires at 2025-06-03T00:00:00Z, within 7d");

    // The same generation: nothing new, however often it is scanned.
    CHECK(expiry.scan(*keys, 1, k_now + 1min).empty());
    CHECK(expiry.scan(*keys, 1, k_now + 1h).empty());
    // A day later in-8d enters its last 7 days: alerted once, at that scan.
    CHECK(ids(expiry.scan(*keys, 1, k_now + 24h + 1s)) == std::vector<std::string>{"in-8d"});
    CHECK(expiry.scan(*keys, 1, k_now + 25h).empty());
    // A new key set generation raises each key in its last week once more.
    CHECK(ids(expiry.scan(*keys, 2, k_now + 25h)) == std::vector<std::string>{"in-2d", "in-8d"});
    CHECK(expiry.scan(*keys, 2, k_now + 26h).empty());
    // Once expired, nothing.
    CHECK(expiry.scan(*keys, 3, k_now + 24h * 9).empty());
}

TEST_CASE("expiry alerts: settings.alerts.key_expiring: false raises none", "[alerts]") {
    ExpiryAlerts expiry;
    CHECK(expiry.scan(*store(false), 1, k_now).empty());
    CHECK(ids(expiry.scan(*store(true), 2, k_now)) == std::vector<std::string>{"in-2d"});
}
