// The audit writer thread: batches lines, writes them with write(2), counts failures.
#include "infra/audit_writer.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace keygate {
namespace {

/// Interrupts a write(2) the writer thread is blocked in: a handler that does nothing,
/// installed without SA_RESTART, so the call returns EINTR (or the bytes it took).
constexpr int k_interrupt_signal = SIGURG;

extern "C" void on_interrupt_signal(int) {}

void install_interrupt_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = on_interrupt_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART
        ::sigaction(k_interrupt_signal, &action, nullptr);
    });
}

} // namespace

AuditWriter::AuditWriter(AuditWriterOptions options, FailureReporter report)
    : options_(std::move(options)), report_(std::move(report)), stall_(options_.blocked_after),
      output_(options_.write_call,
              AuditOutputHooks{[this] { stall_.begin_write(AuditStallDetector::Clock::now()); },
                               [this] { write_progressed(); },
                               [this] { return abandoned_.load(std::memory_order_relaxed); }}) {}

AuditWriter::~AuditWriter() {
    stop();
}

void AuditWriter::report(AuditReportLevel level, const std::string& message) const {
    if (report_)
        report_(level, message);
}

void AuditWriter::account(const AuditWriteResult& result) {
    stats_.written.fetch_add(result.written, std::memory_order_relaxed);
    stats_.write_failures.fetch_add(result.lost, std::memory_order_relaxed);
}

bool AuditWriter::open_destination(std::string& error) {
    if (options_.destination == "stdout" || options_.destination.empty()) {
        account(output_.attach(STDOUT_FILENO, false));
        return true;
    }
    if (options_.destination == "stderr") {
        account(output_.attach(STDERR_FILENO, false));
        return true;
    }
    const int fd =
        ::open(options_.destination.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        error = "cannot open audit log '" + options_.destination + "': " + std::strerror(errno);
        return false;
    }
    account(output_.attach(fd, true));
    return true;
}

bool AuditWriter::start(std::string& error) {
    if (!open_destination(error))
        return false;
    running_ = true;
    install_interrupt_handler();
    thread_ = std::thread([this] {
        sigset_t interrupt;
        sigemptyset(&interrupt);
        sigaddset(&interrupt, k_interrupt_signal);
        pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
        {
            std::lock_guard lock(writer_thread_mutex_);
            writer_thread_ = pthread_self();
            writer_running_ = true;
        }
        run();
        std::lock_guard lock(writer_thread_mutex_);
        writer_running_ = false;
    });
    watchdog_ = std::thread([this] { watch(); });
    return true;
}

AuditWriterHealth AuditWriter::health() const {
    AuditWriterHealth health;
    {
        const std::lock_guard lock(mutex_);
        health.queue_depth = queue_.size() + in_flight_;
    }
    health.blocked = stall_.blocked();
    health.blocked_seconds = stall_.blocked_seconds(AuditStallDetector::Clock::now());
    return health;
}

void AuditWriter::write_progressed() {
    const auto episode = stall_.end_write(AuditStallDetector::Clock::now());
    if (!episode)
        return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*episode).count();
    report(AuditReportLevel::info,
           "audit log '" + options_.destination + "' takes writes again after being blocked for " +
               std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s");
}

void AuditWriter::abandon_after(std::chrono::steady_clock::time_point deadline) {
    {
        std::lock_guard lock(watch_mutex_);
        if (abandon_at_ && *abandon_at_ <= deadline)
            return;
        abandon_at_ = deadline;
    }
    watch_wake_.notify_all();
}

void AuditWriter::give_up() {
    std::size_t lost = 0;
    std::size_t cut = 0;
    {
        std::lock_guard lock(mutex_);
        lost = queue_.size();
        cut = in_flight_;
        queue_.clear();
        depth_.store(0, std::memory_order_relaxed);
        running_ = false; // later lines are refused (and counted)
        abandoned_ = true;
    }
    // The batch being written is counted by its own write's result, when it is cut.
    stats_.write_failures.fetch_add(lost, std::memory_order_relaxed);
    has_room_.notify_all();
    drained_.notify_all();
    has_lines_.notify_all();
    window_end_.notify_all();
    report(AuditReportLevel::error,
           "audit log '" + options_.destination + "' still blocks at shutdown: " +
               std::to_string(lost) + " queued lines not written and a write of " +
               std::to_string(cut) + " cut short, counted in keygate_audit_write_failures_total");
}

void AuditWriter::interrupt_writer() {
    std::lock_guard lock(writer_thread_mutex_);
    if (writer_running_)
        pthread_kill(writer_thread_, k_interrupt_signal);
}

void AuditWriter::watch() {
    std::unique_lock lock(watch_mutex_);
    while (!watch_stop_) {
        auto wake = std::chrono::steady_clock::now() + options_.watch_period;
        if (abandon_at_ && !abandoned_)
            wake = std::min(wake, *abandon_at_);
        // abandon_after() notifies too: a new deadline is then looked at at once.
        watch_wake_.wait_until(lock, wake);
        if (watch_stop_)
            break;
        if (abandon_at_ && std::chrono::steady_clock::now() >= *abandon_at_) {
            // Only a destination that blocks (a write outstanding for blocked_after) is
            // given up; lines still on their way to one that keeps up are written.
            if (!abandoned_ && stall_.blocked()) {
                lock.unlock();
                give_up();
                lock.lock();
            }
            // Until the writer thread is out of its write(2): a signal may land just
            // before the call, so it is sent again each period.
            if (abandoned_)
                interrupt_writer();
        }
        if (!stall_.check(AuditStallDetector::Clock::now()))
            continue;
        const AuditWriterHealth now = health();
        report(AuditReportLevel::warning,
               "audit log '" + options_.destination +
                   "' is blocked: a write has not completed for " +
                   std::to_string(options_.blocked_after.count()) + " ms, " +
                   std::to_string(now.queue_depth) +
                   " lines wait; decisions wait for it and /readyz answers 503");
    }
}

void AuditWriter::write(std::string line) {
    std::unique_lock lock(mutex_);
    if (!running_ || stopping_) {
        stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (queue_.size() >= options_.queue_lines) {
        // A full queue ends the writer's batch window.
        window_end_.notify_one();
        if (options_.overflow == AuditOverflow::drop) {
            stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        has_room_.wait(lock, [&] { return queue_.size() < options_.queue_lines || !running_; });
        if (!running_) {
            stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    // Only the line that makes the queue non-empty wakes the writer: it takes the whole
    // queue at once, and a writer busy with a batch checks the queue again before it waits.
    const bool was_empty = queue_.empty();
    queue_.push_back(std::move(line));
    depth_.store(queue_.size(), std::memory_order_relaxed);
    lock.unlock();
    if (was_empty)
        has_lines_.notify_one();
}

void AuditWriter::flush() {
    std::unique_lock lock(mutex_);
    // Whoever flushes wants the lines out now, not at the end of the batch window.
    ++flushing_;
    window_end_.notify_one();
    drained_.wait(lock, [&] { return (queue_.empty() && in_flight_ == 0) || !running_; });
    --flushing_;
}

void AuditWriter::reopen() {
    {
        std::lock_guard lock(mutex_);
        reopen_requested_ = true;
    }
    has_lines_.notify_one();
    window_end_.notify_one();
}

void AuditWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    has_lines_.notify_all();
    window_end_.notify_all();
    if (thread_.joinable())
        thread_.join();
    {
        std::lock_guard lock(mutex_);
        running_ = false;
    }
    has_room_.notify_all();
    drained_.notify_all();
    {
        std::lock_guard lock(watch_mutex_);
        watch_stop_ = true;
    }
    watch_wake_.notify_all();
    if (watchdog_.joinable())
        watchdog_.join();
    account(output_.close()); // one last try at a line cut by a failed write
}

void AuditWriter::write_batch(std::deque<std::string>& batch) {
    // One write(2) per batch of whole lines; O_APPEND keeps them whole in a shared file, and
    // AuditOutput finishes a line cut by a failed write before any other.
    const AuditWriteResult result = output_.write(batch);
    account(result);
    if (abandoned_)
        return; // give_up() reported it
    if (result.error == 0) {
        if (failing_)
            report(AuditReportLevel::info, "audit log writes succeed again");
        failing_ = false;
        return;
    }
    if (!failing_) {
        report(AuditReportLevel::error,
               "audit log write failed (" + std::string(std::strerror(result.error)) +
                   "): lines are counted in keygate_audit_write_failures_total");
    }
    failing_ = true;
}

void AuditWriter::run() {
    std::deque<std::string> batch;
    for (;;) {
        bool reopen = false;
        {
            std::unique_lock lock(mutex_);
            has_lines_.wait(lock, [&] {
                return !queue_.empty() || stopping_ || reopen_requested_ || abandoned_;
            });
            reopen = std::exchange(reopen_requested_, false);
            if (queue_.empty() && (stopping_ || abandoned_) && !reopen)
                break;
            batch.swap(queue_);
            depth_.store(0, std::memory_order_relaxed);
            in_flight_ = batch.size();
        }
        has_room_.notify_all();
        if (reopen) {
            std::string error;
            if (!open_destination(error))
                report(AuditReportLevel::error, error);
        }
        if (!batch.empty())
            write_batch(batch);
        batch.clear();
        {
            std::lock_guard lock(mutex_);
            in_flight_ = 0;
        }
        drained_.notify_all();
        // The batch window: lines queued meanwhile wake no one (the queue is not empty, so
        // write() does not notify) and go out together.
        std::unique_lock lock(mutex_);
        window_end_.wait_for(lock, options_.batch_window, [&] {
            return stopping_ || reopen_requested_ || flushing_ > 0 ||
                   queue_.size() >= options_.queue_lines;
        });
    }
    drained_.notify_all();
}

} // namespace keygate
