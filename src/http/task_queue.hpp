#pragma once
// The listener's elastic thread pool for the handlers that do not run on the event loop
// (admin, metrics, audit posts, decisions while the audit queue is backlogged). It grows
// when no worker is idle, up to a limit (beyond it tasks wait in its queue), and shrinks
// back when extra workers stay idle.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace keygate {

/// Sizing of an ElasticTaskQueue.
struct TaskQueueLimits {
    std::size_t min_threads = 8;                   ///< started at once, never retired
    std::size_t max_threads = 512;                 ///< beyond this, tasks wait in the queue
    std::chrono::milliseconds idle_retire{30'000}; ///< an extra worker idle this long exits
};

/// A TaskQueue that starts `min_threads` workers and adds one whenever a task is enqueued
/// while no worker is idle, up to `max_threads`. Thread-safe. shutdown() runs every task
/// already queued, then joins all workers.
class ElasticTaskQueue final {
  public:
    explicit ElasticTaskQueue(TaskQueueLimits limits);
    ~ElasticTaskQueue();
    ElasticTaskQueue(const ElasticTaskQueue&) = delete;
    ElasticTaskQueue& operator=(const ElasticTaskQueue&) = delete;

    /// Runs `fn` on a worker (queued when every worker is busy and none can be added).
    void enqueue(std::function<void()> fn);
    /// Runs every task already queued, then joins all workers. Idempotent.
    void shutdown();

    /// Workers alive now.
    std::size_t thread_count() const;
    /// Workers running a task now.
    std::size_t busy_threads() const;
    /// Tasks waiting for a worker now.
    std::size_t queued() const;
    /// The most workers alive at once so far.
    std::size_t peak_threads() const;
    /// True while tasks wait because every worker is busy and none can be added: idle
    /// keep-alive connections should then give their worker up.
    bool saturated() const { return saturated_.load(std::memory_order_relaxed); }

  private:
    void start_worker_locked();
    void worker(std::thread::id self_hint);
    void reap_retired_locked(std::vector<std::thread>& out);
    void update_saturation_locked();

    const TaskQueueLimits limits_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> tasks_;
    std::unordered_map<std::thread::id, std::thread> workers_;
    std::vector<std::thread> retired_; ///< exited (or exiting) workers still to be joined
    std::size_t idle_ = 0;
    std::size_t peak_ = 0;
    bool shutting_down_ = false;
    std::atomic<bool> saturated_{false};
};

} // namespace keygate
