// The elastic pool behind the listener.
#include "http/task_queue.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace keygate {

ElasticTaskQueue::ElasticTaskQueue(TaskQueueLimits limits) : limits_(limits) {
    const std::lock_guard lock(mutex_);
    const std::size_t initial = std::min(limits_.min_threads, limits_.max_threads);
    for (std::size_t i = 0; i < initial; ++i)
        start_worker_locked();
}

ElasticTaskQueue::~ElasticTaskQueue() {
    shutdown();
}

void ElasticTaskQueue::start_worker_locked() {
    // The new thread blocks on mutex_ (held by our caller) before it looks itself up, so
    // it always finds its entry.
    std::thread thread([this] { worker(std::this_thread::get_id()); });
    const auto id = thread.get_id();
    workers_.emplace(id, std::move(thread));
    ++idle_;
    peak_ = std::max(peak_, workers_.size());
}

void ElasticTaskQueue::update_saturation_locked() {
    const bool saturated = tasks_.size() > idle_ && workers_.size() >= limits_.max_threads;
    if (saturated && !saturated_.load(std::memory_order_relaxed)) {
        spdlog::warn("all {} threads of a handler pool are busy; requests wait for one",
                     limits_.max_threads);
    }
    saturated_.store(saturated, std::memory_order_relaxed);
}

void ElasticTaskQueue::reap_retired_locked(std::vector<std::thread>& out) {
    out.insert(out.end(), std::make_move_iterator(retired_.begin()),
               std::make_move_iterator(retired_.end()));
    retired_.clear();
}

void ElasticTaskQueue::enqueue(std::function<void()> fn) {
    std::vector<std::thread> finished;
    {
        const std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(fn));
        if (tasks_.size() > idle_ && workers_.size() < limits_.max_threads) {
            start_worker_locked();
        }
        update_saturation_locked();
        reap_retired_locked(finished);
    }
    ready_.notify_one();
    for (auto& thread : finished)
        thread.join();
}

void ElasticTaskQueue::worker(std::thread::id self) {
    std::unique_lock lock(mutex_);
    // start_worker_locked() counted this worker as idle already, so that an enqueue right
    // after it does not start another one.
    for (;;) {
        const bool woken = ready_.wait_for(lock, limits_.idle_retire,
                                           [&] { return shutting_down_ || !tasks_.empty(); });
        if (!woken) {
            auto it = workers_.find(self);
            if (workers_.size() > limits_.min_threads && it != workers_.end()) {
                --idle_;
                retired_.push_back(std::move(it->second));
                workers_.erase(it);
                return;
            }
            continue;
        }
        if (tasks_.empty()) { // shutting down, nothing left to run
            --idle_;
            return;
        }
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        --idle_;
        update_saturation_locked();
        lock.unlock();
        try {
            task();
        } catch (...) {
            // cpp-httplib's connection tasks do not throw; a throwing task must not end
            // the worker (and std::terminate the server).
        }
        lock.lock();
        ++idle_;
    }
}

void ElasticTaskQueue::shutdown() {
    std::vector<std::thread> threads;
    {
        const std::lock_guard lock(mutex_);
        if (shutting_down_ && workers_.empty() && retired_.empty())
            return;
        shutting_down_ = true;
        for (auto& [id, thread] : workers_)
            threads.push_back(std::move(thread));
        workers_.clear();
        reap_retired_locked(threads);
    }
    ready_.notify_all();
    for (auto& thread : threads)
        thread.join();
}

std::size_t ElasticTaskQueue::thread_count() const {
    const std::lock_guard lock(mutex_);
    return workers_.size();
}

std::size_t ElasticTaskQueue::busy_threads() const {
    const std::lock_guard lock(mutex_);
    return workers_.size() - idle_;
}

std::size_t ElasticTaskQueue::queued() const {
    const std::lock_guard lock(mutex_);
    return tasks_.size();
}

std::size_t ElasticTaskQueue::peak_threads() const {
    const std::lock_guard lock(mutex_);
    return peak_;
}

} // namespace keygate
