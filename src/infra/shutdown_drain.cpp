// The shutdown delay on its own timer thread.
#include "infra/shutdown_drain.hpp"

namespace keygate {

ShutdownDrain::ShutdownDrain(std::chrono::milliseconds delay, std::function<void()> stop)
    : delay_(delay), stop_(std::move(stop)) {}

ShutdownDrain::~ShutdownDrain() {
    finish();
}

void ShutdownDrain::finish() {
    {
        const std::lock_guard lock(mutex_);
        cut_ = true;
    }
    cut_short_.notify_all();
    if (timer_.joinable())
        timer_.join();
}

ShutdownDrain::Step ShutdownDrain::request() {
    std::unique_lock lock(mutex_);
    if (ended_)
        return Step::stopped;
    if (!draining_.exchange(true, std::memory_order_acq_rel)) {
        if (delay_ > std::chrono::milliseconds::zero()) {
            timer_ = std::thread([this] { wait_then_stop(); });
            return Step::draining;
        }
    } else {
        cut_ = true;
        cut_short_.notify_all();
    }
    ended_ = true;
    lock.unlock();
    // Not under the lock: stopping the server may take a while (it waits for its loop).
    stop_once();
    return Step::stopping;
}

void ShutdownDrain::wait_then_stop() {
    std::unique_lock lock(mutex_);
    cut_short_.wait_for(lock, delay_, [this] { return cut_; });
    ended_ = true;
    lock.unlock();
    stop_once();
}

void ShutdownDrain::stop_once() {
    std::call_once(stopped_, [this] {
        if (stop_)
            stop_();
    });
}

} // namespace keygate
