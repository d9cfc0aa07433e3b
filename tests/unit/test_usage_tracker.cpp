#include "infra/usage_tracker.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

const TimePoint k_t0 = *parse_timestamp("2025-03-01T12:00:00Z");

ResolvedKey key(const char* id, std::optional<std::uint64_t> rate,
                std::optional<std::uint64_t> daily) {
    ResolvedKey k;
    k.entry.id = id;
    k.entry.rate_limit = rate;
    k.entry.daily_limit = daily;
    return k;
}

std::shared_ptr<const KeyStore> store_with(std::vector<std::string> ids) {
    Config config;
    config.roles = {{"viewer", {"read"}, false}};
    for (auto& id : ids) {
        KeyEntry e;
        e.id = id;
        e.role = "viewer";
        e.secret = {HashKind::sha256, sha256(id)};
        config.api_keys.push_back(e);
    }
    return KeyStore::build(config);
}

} // namespace

TEST_CASE("usage: counts, last_used and the 60 s window", "[usage]") {
    UsageTracker tracker;
    const auto k = key("k1", 10, std::nullopt);
    for (int i = 0; i < 4; ++i) {
        tracker.record_decision(k, k_t0 + std::chrono::seconds(i));
        tracker.admit(k, k_t0 + std::chrono::seconds(i));
    }
    tracker.record_decision(k, k_t0 + 5s); // a denied request: total only
    auto u = tracker.usage(k, k_t0 + 5s);
    CHECK(u.key_id == "k1");
    CHECK(u.total_requests == 5);
    CHECK(u.request_count == 4);
    CHECK(u.last_used == k_t0 + 5s);
    CHECK(u.rate_limit == 10);
    CHECK(u.daily_count == 4);
    REQUIRE(u.remaining);
    CHECK(*u.remaining == 6);
    REQUIRE(u.reset_at);
    CHECK(*u.window_start == *u.reset_at - 60s);
    // a minute later the window is empty again
    u = tracker.usage(k, k_t0 + 70s);
    CHECK(u.request_count == 0);
    CHECK(u.remaining == 10);
}

TEST_CASE("usage: consume false counts nothing", "[usage]") {
    UsageTracker tracker;
    const auto k = key("k1", 1, std::nullopt);
    CHECK(tracker.admit(k, k_t0, false).allowed);
    CHECK(tracker.admit(k, k_t0, false).allowed);
    CHECK(tracker.admit(k, k_t0, true).allowed);
    const auto limited = tracker.admit(k, k_t0, true);
    CHECK_FALSE(limited.allowed);
    REQUIRE(limited.view);
    CHECK(limited.view->retry_after == 60);
}

TEST_CASE("usage: state survives for ids that stay, dropped for the rest", "[usage]") {
    UsageTracker tracker;
    const auto a = key("a", 2, std::nullopt);
    const auto b = key("b", 2, std::nullopt);
    tracker.admit(a, k_t0);
    tracker.admit(a, k_t0);
    tracker.admit(b, k_t0);
    tracker.retain(*store_with({"a"}));
    CHECK_FALSE(tracker.admit(a, k_t0).allowed);      // bucket kept: still empty
    CHECK(tracker.usage(b, k_t0).request_count == 0); // b was dropped
    CHECK(tracker.totals().size() == 1);
}

TEST_CASE("usage: totals round-trip for restarts", "[usage]") {
    UsageTracker tracker;
    const auto a = key("a", std::nullopt, std::nullopt);
    tracker.record_decision(a, k_t0);
    tracker.record_decision(a, k_t0 + 48h);
    UsageTracker restored;
    restored.restore(tracker.totals());
    const auto u = restored.usage(a, k_t0 + 48h);
    CHECK(u.total_requests == 2);
    CHECK(u.last_used == k_t0 + 48h);
    CHECK(u.avg_requests_per_day == Approx(1.0));
}

TEST_CASE("usage: decisions on a rotated-out secret are counted apart and survive totals",
          "[usage]") {
    UsageTracker tracker;
    const auto k = key("rotating", std::nullopt, std::nullopt);
    tracker.record_decision(k, k_t0);
    tracker.record_decision(k, k_t0 + 1s, SecretSource::previous);
    tracker.record_decision(k, k_t0 + 2s, SecretSource::grace);
    tracker.record_decision(k, k_t0 + 3s, SecretSource::current);
    auto totals = tracker.totals();
    REQUIRE(totals.size() == 1);
    CHECK(totals[0].total_requests == 4);
    CHECK(totals[0].last_used == k_t0 + 3s);
    CHECK(totals[0].old_secret_requests == 2);
    CHECK(totals[0].old_secret_last_used == k_t0 + 2s);

    UsageTracker restored;
    restored.restore(totals);
    const auto again = restored.totals();
    REQUIRE(again.size() == 1);
    CHECK(again[0].old_secret_requests == 2);
    CHECK(again[0].old_secret_last_used == k_t0 + 2s);
}
