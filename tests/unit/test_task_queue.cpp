// The elastic pool: grows when every worker is busy, shrinks back, drains on shutdown.
#include "http/task_queue.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

/// Polls `condition` until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// Tasks that block until released.
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    std::atomic<int> running{0};

    std::function<void()> task() {
        return [this] {
            ++running;
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return open; });
        };
    }
    void release() {
        {
            const std::lock_guard lock(mutex);
            open = true;
        }
        cv.notify_all();
    }
};

} // namespace

TEST_CASE("task queue: starts min_threads and grows while every worker is busy", "[task_queue]") {
    ElasticTaskQueue queue({2, 64, 30s});
    CHECK(queue.thread_count() == 2);
    Gate gate;
    for (int i = 0; i < 40; ++i)
        queue.enqueue(gate.task());
    // Every task runs at once: none waits for another to finish.
    REQUIRE(eventually([&] { return gate.running.load() == 40; }));
    CHECK(queue.thread_count() == 40);
    CHECK(queue.peak_threads() == 40);
    CHECK_FALSE(queue.saturated());
    gate.release();
    queue.shutdown();
    CHECK(queue.thread_count() == 0);
}

TEST_CASE("task queue: at max_threads tasks wait and the queue says it is saturated",
          "[task_queue]") {
    ElasticTaskQueue queue({1, 4, 30s});
    Gate gate;
    for (int i = 0; i < 6; ++i)
        queue.enqueue(gate.task());
    REQUIRE(eventually([&] { return gate.running.load() == 4; }));
    CHECK(queue.thread_count() == 4);
    CHECK(queue.queued() == 2);
    CHECK(queue.saturated());
    gate.release();
    REQUIRE(eventually([&] { return gate.running.load() == 6; }));
    REQUIRE(eventually([&] { return !queue.saturated(); }));
    queue.shutdown();
}

TEST_CASE("task queue: idle extra workers retire, min_threads stay", "[task_queue]") {
    ElasticTaskQueue queue({2, 16, 50ms});
    Gate gate;
    for (int i = 0; i < 8; ++i)
        queue.enqueue(gate.task());
    REQUIRE(eventually([&] { return gate.running.load() == 8; }));
    gate.release();
    REQUIRE(eventually([&] { return queue.thread_count() == 2; }));
    // The pool still works after shrinking (and joins the retired threads).
    std::atomic<int> done{0};
    for (int i = 0; i < 4; ++i)
        queue.enqueue([&] { ++done; });
    REQUIRE(eventually([&] { return done.load() == 4; }));
    queue.shutdown();
}

TEST_CASE("task queue: shutdown runs the tasks already queued", "[task_queue]") {
    std::atomic<int> done{0};
    {
        ElasticTaskQueue queue({1, 1, 30s});
        for (int i = 0; i < 50; ++i) {
            queue.enqueue([&] {
                std::this_thread::sleep_for(100us);
                ++done;
            });
        }
        queue.shutdown();
        CHECK(done.load() == 50);
        queue.shutdown(); // idempotent
    }
    CHECK(done.load() == 50);
}

TEST_CASE("task queue: a throwing task does not end its worker", "[task_queue]") {
    ElasticTaskQueue queue({1, 1, 30s});
    std::atomic<int> done{0};
    queue.enqueue([] { throw std::runtime_error("task failure"); });
    queue.enqueue([&] { ++done; });
    REQUIRE(eventually([&] { return done.load() == 1; }));
    CHECK(queue.thread_count() == 1);
    queue.shutdown();
}
