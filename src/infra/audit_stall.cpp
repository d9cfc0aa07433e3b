// Blocked episodes of the audit writer.
#include "infra/audit_stall.hpp"

namespace keygate {

void AuditStallDetector::begin_write(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (!write_started_)
        write_started_ = now;
}

std::optional<AuditStallDetector::Clock::duration>
AuditStallDetector::end_write(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    std::optional<Clock::duration> episode;
    if (blocked_ && write_started_) {
        episode = now - *write_started_;
        finished_episodes_ += *episode;
    }
    blocked_ = false;
    blocked_now_.store(false, std::memory_order_relaxed);
    write_started_.reset();
    return episode;
}

bool AuditStallDetector::check(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (blocked_ || !write_started_ || now - *write_started_ < threshold_)
        return false;
    blocked_ = true;
    blocked_now_.store(true, std::memory_order_relaxed);
    return true;
}

bool AuditStallDetector::blocked() const {
    return blocked_now_.load(std::memory_order_relaxed);
}

double AuditStallDetector::blocked_seconds(Clock::time_point now) const {
    const std::lock_guard lock(mutex_);
    Clock::duration total = finished_episodes_;
    if (blocked_ && write_started_ && now > *write_started_)
        total += now - *write_started_;
    return std::chrono::duration<double>(total).count();
}

} // namespace keygate
