// Buffered, deadline-aware socket I/O for one connection.
#include "server/connection_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace keygate {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_in_buffer_bytes = 16 * 1024;
constexpr std::size_t k_out_flush_bytes = 64 * 1024;

int timeout_ms(SteadyClock::time_point deadline, SteadyClock::time_point now) {
    if (deadline <= now)
        return 0;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    return static_cast<int>(std::min<long long>(left, 60'000));
}

} // namespace

ConnectionStream::ConnectionStream(int fd, int stop_fd, const StreamLimits& limits,
                                   std::string remote_ip, int remote_port, std::string local_ip,
                                   int local_port)
    : fd_(fd), stop_fd_(stop_fd), limits_(limits), remote_ip_(std::move(remote_ip)),
      remote_port_(remote_port), local_ip_(std::move(local_ip)), local_port_(local_port),
      in_(std::make_unique<char[]>(k_in_buffer_bytes)) {
    out_.reserve(4096);
}

ConnectionStream::Ready ConnectionStream::poll_readable(SteadyClock::time_point deadline,
                                                        bool watch_stop) const {
    for (;;) {
        const auto now = SteadyClock::now();
        pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const nfds_t count = (watch_stop && stop_fd_ >= 0) ? 2 : 1;
        const int ready = ::poll(fds, count, timeout_ms(deadline, now));
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return Ready::no;
        }
        // The socket first: a request that has arrived is served even while stopping.
        if (fds[0].revents != 0)
            return Ready::yes;
        if (count == 2 && fds[1].revents != 0)
            return Ready::stop;
        if (SteadyClock::now() >= deadline)
            return Ready::no;
    }
}

bool ConnectionStream::wait_readable() const {
    const auto now = SteadyClock::now();
    auto deadline = std::min(phase_deadline_, now + limits_.read_timeout);
    for (;;) {
        if (stop_seen_)
            deadline = std::min(deadline, stop_deadline_);
        switch (poll_readable(deadline, !stop_seen_)) {
        case Ready::yes:
            return true;
        case Ready::no:
            return false;
        case Ready::stop:
            // Requests in flight may finish, but a slow client cannot hold up shutdown.
            stop_seen_ = true;
            stop_deadline_ = SteadyClock::now() + limits_.drain_timeout;
            break;
        }
    }
}

bool ConnectionStream::is_readable() const {
    return in_begin_ < in_end_ || (!failed_ && waiting_ && wait_readable());
}

bool ConnectionStream::is_writable() const {
    // Writes go to the output buffer; flush() and flush_now() wait for the socket.
    return !failed_;
}

ConnectionStream::Fill ConnectionStream::fill_now() {
    for (;;) {
        const ssize_t received = ::recv(fd_, in_.get(), k_in_buffer_bytes, MSG_DONTWAIT);
        if (received > 0) {
            in_begin_ = 0;
            in_end_ = static_cast<std::size_t>(received);
            return Fill::data;
        }
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return Fill::again;
        return Fill::closed;
    }
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
    // cpp-httplib reads a request head one byte per call: keep that path short.
    if (in_begin_ < in_end_ && out_.empty() && size == 1 &&
        (!in_head_ || head_bytes_ < limits_.max_header_bytes)) [[likely]] {
        *ptr = in_[in_begin_++];
        if (in_head_) {
            ++head_bytes_;
            head_text_ += *ptr;
        }
        return 1;
    }
    // The library writes "100 Continue" and then reads the body: it must be on the wire.
    if (waiting_ && !out_.empty() && !flush())
        return -1;
    while (in_begin_ == in_end_) {
        if (failed_ || (in_head_ && head_bytes_ >= limits_.max_header_bytes))
            return -1;
        // Try first, wait only when nothing has arrived: one syscall in the common case.
        const Fill fill = fill_now();
        if (fill == Fill::data)
            break;
        if (fill == Fill::closed || !waiting_ || !wait_readable()) {
            failed_ = true;
            return -1;
        }
    }
    std::size_t n = std::min(size, in_end_ - in_begin_);
    if (in_head_) {
        n = std::min(n, limits_.max_header_bytes - std::min(head_bytes_, limits_.max_header_bytes));
        if (n == 0)
            return -1;
        head_bytes_ += n;
        head_text_.append(in_.get() + in_begin_, n);
    }
    std::memcpy(ptr, in_.get() + in_begin_, n);
    in_begin_ += n;
    return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
    if (failed_)
        return -1;
    out_.append(ptr, size);
    // The event loop sends with flush_now() once the response is whole.
    if (waiting_ && out_.size() >= k_out_flush_bytes && !flush())
        return -1;
    return static_cast<ssize_t>(size);
}

bool ConnectionStream::flush() {
    for (;;) {
        switch (flush_now()) {
        case FlushNow::done:
            return true;
        case FlushNow::failed:
            return false;
        case FlushNow::would_block:
            break;
        }
        pollfd fd{fd_, POLLOUT, 0};
        if (::poll(&fd, 1, static_cast<int>(limits_.write_timeout.count())) <= 0) {
            failed_ = true;
            out_.clear();
            return false;
        }
    }
}

ConnectionStream::FlushNow ConnectionStream::flush_now() {
    std::size_t sent = 0;
    while (sent < out_.size() && !failed_) {
        const ssize_t n =
            ::send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            out_.erase(0, sent);
            return FlushNow::would_block;
        }
        failed_ = true;
    }
    out_.clear();
    return failed_ ? FlushNow::failed : FlushNow::done;
}

ConnectionStream::Wait ConnectionStream::wait_for_request(std::chrono::milliseconds idle,
                                                          const std::function<bool()>& give_up) {
    if (in_begin_ < in_end_)
        return Wait::request;
    const auto deadline = SteadyClock::now() + idle;
    for (;;) {
        // Wake at least once a second to ask give_up(): a full thread pool reclaims idle
        // keep-alive connections.
        const auto slice = std::min(deadline, SteadyClock::now() + std::chrono::seconds(1));
        switch (poll_readable(slice, true)) {
        case Ready::yes:
            // Read at once: the parser then finds the request head in the buffer.
            switch (fill_now()) {
            case Fill::data:
                return Wait::request;
            case Fill::closed:
                return Wait::idle_timeout;
            case Fill::again:
                continue;
            }
            break;
        case Ready::stop:
            return Wait::stopping;
        case Ready::no:
            break;
        }
        if (SteadyClock::now() >= deadline || (give_up && give_up()))
            return Wait::idle_timeout;
    }
}

void ConnectionStream::begin_request() {
    in_head_ = true;
    head_bytes_ = 0;
    head_text_.clear();
    phase_deadline_ = SteadyClock::now() + limits_.header_timeout;
}

void ConnectionStream::begin_body() {
    in_head_ = false;
    phase_deadline_ = SteadyClock::now() + limits_.body_timeout;
}

void ConnectionStream::drain_before_close() {
    ::shutdown(fd_, SHUT_WR);
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(500);
    std::size_t drained = 0;
    char sink[4096];
    while (drained < 1024 * 1024) {
        pollfd fd{fd_, POLLIN, 0};
        const int wait = timeout_ms(deadline, SteadyClock::now());
        if (wait <= 0 || ::poll(&fd, 1, wait) <= 0)
            return;
        const ssize_t n = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0)
            return;
        drained += static_cast<std::size_t>(n);
    }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
    ip = remote_ip_;
    port = remote_port_;
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
    ip = local_ip_;
    port = local_port_;
}

} // namespace keygate
