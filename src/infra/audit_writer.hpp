#pragma once
// The audit log's writer: JSON lines to stdout, stderr or a file, from a bounded queue, by
// one writer thread, so that lines are whole, never interleaved, and the request path never
// waits on the disk. Nothing is dropped by default; any drop or write failure is counted.
// A destination that stops taking writes is watched (AuditStallDetector): a warning, the
// health() figures behind /metrics and /readyz.
#include "infra/audit_output.hpp"
#include "infra/audit_stall.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <string>
#include <thread>

namespace keygate {

/// What to do when the queue is full.
enum class AuditOverflow {
    block, ///< the request waits for room (default: nothing is lost)
    drop,  ///< the line is dropped and counted as a write failure
};

/// Where audit lines go and how the queue behaves.
struct AuditWriterOptions {
    std::string destination = "stdout"; ///< "stdout", "stderr", or a file path (appended)
    std::size_t queue_lines = 65'536;
    AuditOverflow overflow = AuditOverflow::block;
    /// After writing a batch the writer waits this long before it takes the next one (unless
    /// stopping, reopening or the queue is full). A busy server then wakes the writer about
    /// once per window instead of once per request: each wake-up is a context switch on the
    /// request path's core. Lines reach the destination at most this much later.
    std::chrono::microseconds batch_window{1'000};
    /// A write outstanding this long makes the writer "blocked" (see audit_stall.hpp).
    std::chrono::milliseconds blocked_after{500};
    /// How often the watchdog looks (the warning comes at most this long after
    /// blocked_after).
    std::chrono::milliseconds watch_period{100};
    /// The write(2) to call; empty: ::write (tests pass a failing one).
    AuditWriteCall write_call{};
};

/// How the writer is doing, for /metrics and /readyz.
struct AuditWriterHealth {
    std::size_t queue_depth = 0;  ///< lines queued or being written, not yet written
    bool blocked = false;         ///< a write has been outstanding for blocked_after
    double blocked_seconds = 0.0; ///< time spent blocked since start, the current episode too
};

/// How serious a report of the writer is.
enum class AuditReportLevel { info, warning, error };

/// Counters of the sink, read by /metrics.
struct AuditWriterStats {
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> write_failures{0}; ///< lines lost: write errors and drops
};

/// A thread-safe line sink with its own writer thread.
class AuditWriter {
  public:
    /// Called with a message for the operational log (never a line): once per failure
    /// episode (error) and its end (info), once per blocked episode (warning) and its end
    /// (info, with how long it lasted).
    using FailureReporter = std::function<void(AuditReportLevel level, const std::string& message)>;

    explicit AuditWriter(AuditWriterOptions options, FailureReporter report = {});
    ~AuditWriter();
    AuditWriter(const AuditWriter&) = delete;
    AuditWriter& operator=(const AuditWriter&) = delete;

    /// Opens the destination and starts the writer. False (with `error`) when a file cannot
    /// be opened.
    bool start(std::string& error);

    /// Queues one line (without its newline). Thread-safe. With AuditOverflow::block this
    /// waits while the queue is full.
    void write(std::string line);

    /// Waits until every queued line has been handed to the destination.
    void flush();

    /// Reopens a file destination (after logrotate moved it). Thread-safe.
    void reopen();

    /// Drains the queue, then stops the writer. Idempotent. Waits as long as the
    /// destination takes to accept the lines, unless abandon_after() set a limit.
    void stop();

    /// Bounds the wait of a shutdown (CONTRACT §10: exit within the delay + 10 s): if the
    /// destination blocks (a write outstanding for blocked_after) at `deadline` or after
    /// it, the writer gives it up. Every line not yet
    /// written is then counted in write_failures (and reported once, as an error), callers
    /// waiting for room return at once, further lines are refused, the write in progress
    /// is interrupted, and stop() returns. An earlier deadline replaces a later one.
    /// Thread-safe.
    void abandon_after(std::chrono::steady_clock::time_point deadline);

    /// True once the destination was given up (abandon_after's deadline passed blocked).
    bool abandoned() const { return abandoned_.load(std::memory_order_relaxed); }

    /// The sink's counters.
    const AuditWriterStats& stats() const { return stats_; }

    /// Queue depth and blocked state now. Thread-safe.
    AuditWriterHealth health() const;
    /// Inside a blocked episode: health().blocked without its locks (asked per decision).
    bool blocked() const { return stall_.blocked(); }
    /// Blocked, or the queue is more than half full: a writer may soon wait for room.
    /// Lock-free (asked per decision).
    bool backlogged() const {
        return blocked() || depth_.load(std::memory_order_relaxed) > options_.queue_lines / 2;
    }

  private:
    void run();
    void watch();
    bool open_destination(std::string& error);
    void write_batch(std::deque<std::string>& batch);
    void account(const AuditWriteResult& result);
    void report(AuditReportLevel level, const std::string& message) const;
    void write_progressed();
    /// Gives the destination up (abandon_after's deadline): see there.
    void give_up();
    /// Interrupts the writer thread's write(2) with a signal, while it runs.
    void interrupt_writer();

    AuditWriterOptions options_;
    FailureReporter report_;
    AuditWriterStats stats_;
    AuditStallDetector stall_;
    AuditOutput output_;
    bool failing_ = false; ///< inside a failure episode (reported once)

    std::mutex watch_mutex_;
    std::condition_variable watch_wake_;
    bool watch_stop_ = false;
    std::thread watchdog_;
    std::optional<std::chrono::steady_clock::time_point> abandon_at_; ///< guarded by watch_mutex_
    std::atomic<bool> abandoned_{false};

    std::mutex writer_thread_mutex_; ///< guards the two below: no signal after run() ends
    pthread_t writer_thread_{};
    bool writer_running_ = false;

    mutable std::mutex mutex_;
    std::condition_variable has_lines_;
    std::condition_variable has_room_;
    std::condition_variable window_end_; ///< ends the batch window early (stop, reopen, full)
    std::size_t flushing_ = 0;           ///< callers inside flush(): no batch window
    std::condition_variable drained_;
    std::deque<std::string> queue_;
    std::atomic<std::size_t> depth_{0}; ///< queue_.size(), for backlogged() without the lock
    std::size_t in_flight_ = 0;
    bool stopping_ = false;
    bool running_ = false; ///< the writer accepts lines (guarded by mutex_)
    bool reopen_requested_ = false;
    std::thread thread_;
};

} // namespace keygate
