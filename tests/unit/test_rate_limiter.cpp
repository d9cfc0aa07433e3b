#include "infra/rate_limiter.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {
const TimePoint k_t0 = *parse_timestamp("2025-03-01T12:00:00Z");
}

TEST_CASE("rate limit: burst of the capacity, then refill at rate/60 per second", "[rate]") {
    RateLimitState state;
    const KeyLimits limits{60, std::nullopt}; // one token per second
    RateLimitView view;
    for (int i = 0; i < 60; ++i)
        REQUIRE(state.admit(limits, k_t0, view));
    CHECK(view.remaining == 0);
    CHECK(view.limit == 60);
    CHECK(view.reset_seconds == 60);
    CHECK_FALSE(state.admit(limits, k_t0, view));
    CHECK(view.retry_after == 1);
    CHECK(view.policy == "\"minute\";q=60;w=60");
    CHECK(view.ratelimit == "\"minute\";r=0;t=60");
    CHECK_FALSE(state.admit(limits, k_t0 + 999ms, view));
    CHECK(view.retry_after == 1);
    CHECK(state.admit(limits, k_t0 + 1000ms, view));
    CHECK(view.remaining == 0);
    CHECK_FALSE(state.admit(limits, k_t0 + 1000ms, view));
}

TEST_CASE("rate limit: no window edge doubles the limit", "[rate]") {
    RateLimitState state;
    const KeyLimits limits{100, std::nullopt};
    RateLimitView view;
    int passed = 0;
    // hammer every 10 ms for two minutes: at most capacity + refill of the elapsed time
    for (int ms = 0; ms <= 120'000; ms += 10) {
        if (state.admit(limits, k_t0 + std::chrono::milliseconds(ms), view))
            ++passed;
        if (ms == 59'990)
            CHECK(passed <= 100 + 100); // never 2x within the first minute edge
    }
    CHECK(passed <= 100 + 200 + 1);
    // and within any 1-second slice right after a minute boundary, no more than ~rate/60 + 1
    RateLimitState edge;
    int at_edge = 0;
    for (int i = 0; i < 100; ++i)
        edge.admit(limits, k_t0 + 59'999ms, view);
    for (int i = 0; i < 100; ++i)
        at_edge += edge.admit(limits, k_t0 + 60'000ms, view) ? 1 : 0;
    CHECK(at_edge <= 1);
}

TEST_CASE("rate limit: Retry-After for a slow rate", "[rate]") {
    RateLimitState state;
    const KeyLimits limits{2, std::nullopt}; // a token every 30 s
    RateLimitView view;
    REQUIRE(state.admit(limits, k_t0, view));
    REQUIRE(state.admit(limits, k_t0, view));
    CHECK_FALSE(state.admit(limits, k_t0 + 10s, view));
    CHECK(view.retry_after == 20);
    CHECK(view.remaining == 0);
}

TEST_CASE("daily limit: counts allowed requests per UTC day", "[rate]") {
    RateLimitState state;
    const KeyLimits limits{std::nullopt, 3};
    RateLimitView view;
    const TimePoint late = *parse_timestamp("2025-03-01T23:59:50Z");
    for (int i = 0; i < 3; ++i)
        REQUIRE(state.admit(limits, late, view));
    CHECK(view.remaining == 0);
    CHECK(view.reset_seconds == 10);
    CHECK(view.policy == "\"day\";q=3;w=86400");
    CHECK_FALSE(state.admit(limits, late, view));
    CHECK(view.retry_after == 10);
    CHECK(state.daily_count(late) == 3);
    CHECK(state.admit(limits, *parse_timestamp("2025-03-02T00:00:00Z"), view));
    CHECK(view.remaining == 2);
}

TEST_CASE("both limits: headers show the one with fewest remaining", "[rate]") {
    RateLimitState state;
    const KeyLimits limits{100, 2};
    RateLimitView view;
    REQUIRE(state.admit(limits, k_t0, view));
    CHECK(view.limit == 2);
    CHECK(view.remaining == 1);
    CHECK(view.policy == "\"minute\";q=100;w=60, \"day\";q=2;w=86400");
    CHECK(view.ratelimit.rfind("\"day\";r=1;t=", 0) == 0);
    const auto peek = state.peek(limits, k_t0);
    CHECK(peek.remaining == 1);
}
