#pragma once
// SIGTERM / SIGINT (stop), SIGHUP (reload) and SIGUSR1 (reopen the audit log) handling
// without work in a signal handler: the signals are blocked in
// every thread and taken with sigwait() by one dedicated thread.
#include <atomic>
#include <functional>
#include <thread>

namespace keygate {

/// Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the constructing thread — construct it before
/// starting any other thread, so that every thread inherits the mask — and calls `on_signal(signo)`
/// from its own thread for each one that arrives. The destructor stops and joins that thread; the
/// signals stay blocked (the process is about to exit). One instance per process.
class ShutdownSignals {
  public:
    explicit ShutdownSignals(std::function<void(int signo)> on_signal);
    ~ShutdownSignals();
    ShutdownSignals(const ShutdownSignals&) = delete;
    ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  private:
    void run();

    std::function<void(int)> on_signal_;
    std::atomic<bool> closing_{false};
    std::thread thread_;
};

} // namespace keygate
