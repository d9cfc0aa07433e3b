// ShutdownDrain: not ready at once, stop after the delay, a second request cuts it short.
#include "infra/shutdown_drain.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

/// Polls `condition` until it holds or `timeout` passes.
template <class Condition> bool within(std::chrono::milliseconds timeout, Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

} // namespace

TEST_CASE("shutdown drain: a zero delay stops at once", "[shutdown_drain]") {
    std::atomic<int> stops{0};
    ShutdownDrain drain(0ms, [&] { ++stops; });
    CHECK_FALSE(drain.draining());
    CHECK(drain.request() == ShutdownDrain::Step::stopping);
    CHECK(drain.draining());
    CHECK(stops == 1);
    CHECK(drain.request() == ShutdownDrain::Step::stopped);
    CHECK(stops == 1);
}

TEST_CASE("shutdown drain: stop runs once the delay has passed", "[shutdown_drain]") {
    std::atomic<int> stops{0};
    ShutdownDrain drain(200ms, [&] { ++stops; });
    const auto started = std::chrono::steady_clock::now();
    CHECK(drain.request() == ShutdownDrain::Step::draining);
    CHECK(drain.draining());
    CHECK(stops == 0);
    REQUIRE(within(5s, [&] { return stops == 1; }));
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    CHECK(drain.request() == ShutdownDrain::Step::stopped);
    drain.finish();
    CHECK(stops == 1);
}

TEST_CASE("shutdown drain: a second request during the delay stops now", "[shutdown_drain]") {
    std::atomic<int> stops{0};
    ShutdownDrain drain(1h, [&] { ++stops; });
    CHECK(drain.request() == ShutdownDrain::Step::draining);
    CHECK(drain.request() == ShutdownDrain::Step::stopping);
    CHECK(stops == 1);
    drain.finish(); // the timer wakes and does not stop twice
    CHECK(stops == 1);
}

TEST_CASE("shutdown drain: finish() ends a running delay with one stop", "[shutdown_drain]") {
    std::atomic<int> stops{0};
    {
        ShutdownDrain drain(1h, [&] { ++stops; });
        CHECK(drain.request() == ShutdownDrain::Step::draining);
    }
    CHECK(stops == 1);
    ShutdownDrain idle(1h, [&] { ++stops; });
    idle.finish(); // no delay running: nothing to stop
    CHECK(stops == 1);
}
