// The listener's event loop: one thread accepts every connection and answers auth requests
// without a thread switch; everything else moves to a pool thread.
#include "server/http_listener.hpp"
#include "server/request_head.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace keygate {
namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// How often idle connections are checked against their timeouts.
constexpr auto k_sweep_interval = 1s;
/// How long accepting pauses when accept() fails for lack of resources (EMFILE...).
constexpr auto k_accept_pause = 100ms;

/// An epoll instance, closed on scope exit.
class Epoll {
  public:
    Epoll() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {}
    ~Epoll() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Epoll(const Epoll&) = delete;
    Epoll& operator=(const Epoll&) = delete;
    bool valid() const { return fd_ >= 0; }
    bool watch(int fd, std::uint32_t events) { return control(EPOLL_CTL_ADD, fd, events); }
    bool change(int fd, std::uint32_t events) { return control(EPOLL_CTL_MOD, fd, events); }
    void forget(int fd) { ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }
    int wait(epoll_event* events, int capacity, int timeout_ms) {
        return ::epoll_wait(fd_, events, capacity, timeout_ms);
    }

  private:
    bool control(int op, int fd, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        return ::epoll_ctl(fd_, op, fd, &event) == 0;
    }
    int fd_;
};

int millis_until(SteadyClock::time_point deadline, SteadyClock::time_point now) {
    if (deadline <= now)
        return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
}

} // namespace

bool HttpListener::run_event_loop() {
    const int listen_fd = svr_sock_.load();
    Epoll epoll;
    if (listen_fd == INVALID_SOCKET || !epoll.valid())
        return false;
    ::fcntl(listen_fd, F_SETFL, ::fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    if (!epoll.watch(listen_fd, EPOLLIN) || !epoll.watch(stop_fd_, EPOLLIN))
        return false;

    std::unordered_map<int, std::shared_ptr<Connection>> connections;
    const auto forget = [&](int fd) {
        epoll.forget(fd);
        connections.erase(fd);
        loop_connections_.store(connections.size(), std::memory_order_relaxed);
    };
    const auto close_now = [&](int fd) {
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
        forget(fd);
    };
    const auto to_thread = [&](int fd) {
        std::shared_ptr<Connection> connection = connections[fd];
        forget(fd);
        hand_off(std::move(connection));
    };

    // Serves what a readable connection has sent, as long as it is for the loop.
    const auto on_readable = [&](int fd) {
        Connection& connection = *connections[fd];
        ConnectionStream& stream = *connection.stream;
        if (stream.buffered().empty()) {
            switch (stream.fill_now()) {
            case ConnectionStream::Fill::again:
                return;
            case ConnectionStream::Fill::closed:
                return close_now(fd);
            case ConnectionStream::Fill::data:
                break;
            }
        }
        while (!stream.buffered().empty()) {
            if (!inspect_request_head(stream.buffered()).for_loop)
                return to_thread(fd);
            const std::optional<bool> direct = serve_direct(connection);
            const bool keep = direct ? *direct : serve_request(connection);
            loop_requests_.fetch_add(1, std::memory_order_relaxed);
            switch (stream.flush_now()) {
            case ConnectionStream::FlushNow::done:
                break;
            case ConnectionStream::FlushNow::failed:
                return close_now(fd);
            case ConnectionStream::FlushNow::would_block:
                // The thread sends the rest, waiting as long as the write timeout allows.
                connection.closing = !keep;
                return to_thread(fd);
            }
            if (!keep) {
                if (!connection.context.close_after_response || stream.failed())
                    return close_now(fd);
                // Draining what the client still sends may take a while: not on the loop.
                connection.closing = true;
                return to_thread(fd);
            }
        }
        connection.idle_since = SteadyClock::now();
    };

    bool accepting = true;
    SteadyClock::time_point accept_resume{};
    const auto accept_all = [&] {
        for (;;) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    // Out of descriptors or memory: stop asking for a while instead of
                    // spinning on a listening socket that stays readable.
                    accepting = !epoll.change(listen_fd, 0);
                    accept_resume = SteadyClock::now() + k_accept_pause;
                }
                return;
            }
            std::shared_ptr<Connection> connection = open_connection(fd);
            connection->stream->set_waiting(false);
            if (!epoll.watch(fd, EPOLLIN)) {
                hand_off(std::move(connection));
                continue;
            }
            connections.emplace(fd, std::move(connection));
            loop_connections_.store(connections.size(), std::memory_order_relaxed);
        }
    };

    // Closes connections idle beyond their timeout: the first request's read timeout, then
    // the keep-alive timeout.
    const auto sweep = [&](SteadyClock::time_point now) {
        std::vector<int> expired;
        for (const auto& [fd, connection] : connections) {
            const auto limit = connection->served == 0
                                   ? options_.stream.read_timeout
                                   : std::chrono::milliseconds(options_.keep_alive_timeout);
            if (now - connection->idle_since >= limit)
                expired.push_back(fd);
        }
        for (const int fd : expired)
            close_now(fd);
    };

    std::array<epoll_event, 64> events{};
    auto next_sweep = SteadyClock::now() + k_sweep_interval;
    bool ok = true;
    while (!stop_requested_.load()) {
        auto now = SteadyClock::now();
        auto wake = next_sweep;
        if (!accepting)
            wake = std::min(wake, accept_resume);
        const int ready =
            epoll.wait(events.data(), static_cast<int>(events.size()), millis_until(wake, now));
        if (ready < 0 && errno != EINTR) {
            ok = false;
            break;
        }
        for (int i = 0; i < ready; ++i) {
            const int fd = events[static_cast<std::size_t>(i)].data.fd;
            if (fd == listen_fd) {
                accept_all();
            } else if (fd != stop_fd_ && connections.count(fd) != 0) {
                on_readable(fd);
            }
        }
        now = SteadyClock::now();
        if (!accepting && now >= accept_resume)
            accepting = epoll.change(listen_fd, EPOLLIN);
        if (now >= next_sweep) {
            sweep(now);
            next_sweep = now + k_sweep_interval;
        }
    }

    // Stopping: a request that has already arrived is answered (its connection then
    // closes: serve_request() marks it the last), every other connection closes now.
    std::vector<int> open;
    open.reserve(connections.size());
    for (const auto& entry : connections)
        open.push_back(entry.first);
    for (const int fd : open) {
        on_readable(fd);
        if (connections.count(fd) != 0)
            close_now(fd);
    }
    return ok;
}

} // namespace keygate
