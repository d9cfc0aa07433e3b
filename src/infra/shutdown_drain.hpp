#pragma once
// The shutdown of `keygate serve` (CONTRACT §10): on the first SIGTERM/SIGINT the process
// turns not ready at once, keeps serving for KEYGATE_SHUTDOWN_DELAY (so that the Service
// and the proxies stop sending to it first), and only then stops accepting. A second
// signal during the delay cuts it short.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace keygate {

/// The delay between "not ready" and "stop accepting". Thread-safe; one per process.
class ShutdownDrain {
  public:
    /// What request() did.
    enum class Step {
        draining, ///< the delay started: `stop` runs when it ends
        stopping, ///< `stop` ran now (a zero delay, or a request during the delay)
        stopped,  ///< nothing to do: the delay had already ended
    };

    /// `stop` stops the server; it runs once, on the timer thread or in request(), and
    /// must be thread-safe.
    ShutdownDrain(std::chrono::milliseconds delay, std::function<void()> stop);
    /// finish().
    ~ShutdownDrain();
    ShutdownDrain(const ShutdownDrain&) = delete;
    ShutdownDrain& operator=(const ShutdownDrain&) = delete;

    /// A shutdown signal. The first one makes draining() true and starts the delay (with a
    /// zero delay it calls `stop` at once); one during the delay calls `stop` at once.
    Step request();

    /// Cuts a running delay short (its end calls `stop`) and joins the timer thread; no
    /// effect when no delay runs. Call before what `stop` uses is destroyed. Idempotent.
    void finish();

    /// True from the first request() on: /readyz answers 503.
    bool draining() const { return draining_.load(std::memory_order_acquire); }

    /// The configured delay.
    std::chrono::milliseconds delay() const { return delay_; }

  private:
    void wait_then_stop();
    void stop_once();

    const std::chrono::milliseconds delay_;
    std::function<void()> stop_;
    std::atomic<bool> draining_{false};
    std::once_flag stopped_;
    std::mutex mutex_;
    std::condition_variable cut_short_;
    bool cut_ = false;   ///< guarded by mutex_
    bool ended_ = false; ///< guarded by mutex_: `stop` has been called
    std::thread timer_;
};

} // namespace keygate
