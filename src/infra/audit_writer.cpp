// The audit writer thread: batches lines, writes them with write(2), counts failures.
#include "infra/audit_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace keygate {

AuditWriter::AuditWriter(AuditWriterOptions options, FailureReporter report)
    : options_(std::move(options)), report_(std::move(report)) {}

AuditWriter::~AuditWriter() { stop(); }

bool AuditWriter::open_destination(std::string& error) {
    if (options_.destination == "stdout" || options_.destination.empty()) {
        fd_ = STDOUT_FILENO;
        owns_fd_ = false;
        return true;
    }
    if (options_.destination == "stderr") {
        fd_ = STDERR_FILENO;
        owns_fd_ = false;
        return true;
    }
    const int fd = ::open(options_.destination.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          0640);
    if (fd < 0) {
        error = "cannot open audit log '" + options_.destination + "': " + std::strerror(errno);
        return false;
    }
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
    fd_ = fd;
    owns_fd_ = true;
    return true;
}

bool AuditWriter::start(std::string& error) {
    if (!open_destination(error)) return false;
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return true;
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
    if (thread_.joinable()) thread_.join();
    {
        std::lock_guard lock(mutex_);
        running_ = false;
    }
    has_room_.notify_all();
    drained_.notify_all();
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void AuditWriter::write_batch(std::deque<std::string>& batch) {
    std::string buffer;
    for (auto& line : batch) {
        buffer += line;
        buffer += '\n';
    }
    // One write(2) per batch of whole lines; O_APPEND keeps them whole in a shared file.
    std::size_t done = 0;
    bool failed = false;
    while (done < buffer.size()) {
        const auto n = ::write(fd_, buffer.data() + done, buffer.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            failed = true;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (!failed) {
        stats_.written.fetch_add(batch.size(), std::memory_order_relaxed);
        if (failing_ && report_) report_("audit log writes succeed again");
        failing_ = false;
        return;
    }
    // Count the lines that did not make it whole (a partial line counts as lost).
    std::size_t whole = 0, offset = 0;
    for (const auto& line : batch) {
        offset += line.size() + 1;
        if (offset <= done) ++whole;
    }
    stats_.written.fetch_add(whole, std::memory_order_relaxed);
    stats_.write_failures.fetch_add(batch.size() - whole, std::memory_order_relaxed);
    if (!failing_ && report_) {
        report_("audit log write failed (" + std::string(std::strerror(errno)) +
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
            has_lines_.wait(lock, [&] { return !queue_.empty() || stopping_ || reopen_requested_; });
            reopen = std::exchange(reopen_requested_, false);
            if (queue_.empty() && stopping_ && !reopen) break;
            batch.swap(queue_);
            in_flight_ = batch.size();
        }
        has_room_.notify_all();
        if (reopen) {
            std::string error;
            if (!open_destination(error) && report_) report_(error);
        }
        if (!batch.empty()) write_batch(batch);
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
