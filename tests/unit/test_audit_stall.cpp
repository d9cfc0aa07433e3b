#include "infra/audit_stall.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

TEST_CASE("audit stall: a write outstanding for the threshold is one blocked episode", "[audit]") {
    AuditStallDetector stall(500ms);
    const AuditStallDetector::Clock::time_point t0{};
    // A slow write that ends before the threshold is no episode.
    stall.begin_write(t0);
    CHECK_FALSE(stall.check(t0 + 499ms));
    CHECK_FALSE(stall.end_write(t0 + 499ms));
    CHECK(stall.blocked_seconds(t0 + 1s) == 0.0);

    stall.begin_write(t0 + 1s);
    CHECK_FALSE(stall.check(t0 + 1400ms));
    CHECK(stall.check(t0 + 1500ms));       // crossed: reported once
    CHECK_FALSE(stall.check(t0 + 1600ms)); // not again in the same episode
    CHECK(stall.blocked());
    CHECK(stall.blocked_seconds(t0 + 3s) == Approx(2.0)); // counted from the write's start
    const auto episode = stall.end_write(t0 + 4s);
    REQUIRE(episode);
    CHECK(*episode == 3s);
    CHECK_FALSE(stall.blocked());
    CHECK(stall.blocked_seconds(t0 + 10s) == Approx(3.0)); // frozen between episodes

    // A second episode adds up.
    stall.begin_write(t0 + 20s);
    CHECK(stall.check(t0 + 21s));
    CHECK(stall.blocked_seconds(t0 + 21s) == Approx(4.0));
    CHECK(stall.end_write(t0 + 22s) == std::optional<AuditStallDetector::Clock::duration>(2s));
    CHECK(stall.blocked_seconds(t0 + 30s) == Approx(5.0));
}
