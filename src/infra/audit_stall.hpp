#pragma once
// When the audit destination stops taking writes. "Blocked" means one write to it has been
// outstanding (a write(2) that has not returned, or a non-blocking descriptor that keeps
// answering EAGAIN) for at least a threshold, 500 ms by default: long enough that a busy
// disk or a reader that is merely slow for a moment is not reported, short enough that the
// warning and /readyz follow within a second. A write that fails at once (ENOSPC, EPIPE) is
// a write failure, not a block. The writer thread marks where each write begins and ends; a
// watchdog asks check() a few times per threshold.
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

namespace keygate {

/// Tracks blocked episodes of the audit writer. Thread-safe.
class AuditStallDetector {
  public:
    /// The clock of every time point here (monotonic).
    using Clock = std::chrono::steady_clock;

    /// `threshold`: how long one write must be outstanding to count as blocked.
    explicit AuditStallDetector(Clock::duration threshold) : threshold_(threshold) {}

    /// The writer starts waiting for the destination to take bytes.
    void begin_write(Clock::time_point now);

    /// The destination took bytes (or failed). When this ends a blocked episode, returns how
    /// long the episode lasted.
    std::optional<Clock::duration> end_write(Clock::time_point now);

    /// True once per episode: the write outstanding at `now` just crossed the threshold.
    bool check(Clock::time_point now);

    /// Inside a blocked episode.
    bool blocked() const;

    /// Seconds spent blocked so far, the episode in progress included. An episode counts
    /// from the start of the write that blocked.
    double blocked_seconds(Clock::time_point now) const;

  private:
    const Clock::duration threshold_;
    mutable std::mutex mutex_;
    std::optional<Clock::time_point> write_started_; ///< a write is outstanding since
    bool blocked_ = false;
    /// blocked_, readable without the mutex (asked on every decision).
    std::atomic<bool> blocked_now_{false};
    Clock::duration finished_episodes_{0};
};

} // namespace keygate
