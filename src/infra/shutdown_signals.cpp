// sigwait() on a dedicated thread.
#include "infra/shutdown_signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace keygate {
namespace {

sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);  // reload the key file
    sigaddset(&set, SIGUSR1); // reopen the audit log (logrotate)
    return set;
}

} // namespace

ShutdownSignals::ShutdownSignals(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
    const sigset_t set = shutdown_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this] { run(); });
}

ShutdownSignals::~ShutdownSignals() {
    closing_.store(true);
    // Wakes the sigwait() of our thread only; the signal stays blocked everywhere.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
    // The mask stays blocked: unblocking now would let a late SIGTERM kill the process
    // while it exits with its own status.
}

void ShutdownSignals::run() {
    const sigset_t set = shutdown_set();
    for (;;) {
        int signo = 0;
        if (sigwait(&set, &signo) != 0)
            continue;
        if (closing_.load())
            return;
        on_signal_(signo);
    }
}

} // namespace keygate
