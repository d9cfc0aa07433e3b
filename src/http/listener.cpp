// The listener's sockets: bind (TCP or unix), stop, counters.
#include "http/listener.hpp"

#include "http/unix_socket.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keygate::http {
namespace {

/// A listening TCP socket on the first address of `host` that binds.
Result<int> listen_tcp(const std::string& host, int port, int backlog) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc =
            ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
        rc != 0) {
        return fail("cannot listen on " + host + ":" + service + ": " + ::gai_strerror(rc));
    }
    int error = 0;
    int fd = -1;
    for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                      ai->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        // SO_REUSEADDR allows a restart while old connections are in TIME_WAIT. Never
        // SO_REUSEPORT: another process could then take half of the connections.
        const int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
            error = errno;
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
        return fail("cannot listen on " + host + ":" + service +
                    (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
    }
    return fd;
}

int bound_port(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return -1;
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
    return -1;
}

} // namespace

Listener::Listener(ListenerOptions options)
    : options_(options), pool_(std::make_unique<ElasticTaskQueue>(options.threads)),
      waiting_pool_(std::make_unique<ElasticTaskQueue>(
          TaskQueueLimits{0, options.threads.max_threads, options.threads.idle_retire})),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Listener::~Listener() {
    stop();
    waiting_pool_->shutdown();
    pool_->shutdown();
    close_listening_socket();
    if (stop_fd_ >= 0)
        ::close(stop_fd_);
}

Result<int> Listener::bind(const std::string& host, int port) {
    if (listen_fd_ >= 0)
        return fail("the listener is already bound");
    Result<int> fd = listen_tcp(host, port, options_.backlog);
    if (!fd)
        return fail(fd.error().message);
    listen_fd_ = *fd;
    return bound_port(listen_fd_);
}

Result<void> Listener::bind_unix(const std::string& path) {
    if (listen_fd_ >= 0)
        return fail("the listener is already bound");
    Result<int> fd = listen_unix_socket(path, options_.backlog);
    if (!fd)
        return fail(fd.error().message);
    listen_fd_ = *fd;
    unix_path_ = path;
    return {};
}

void Listener::stop() {
    if (stop_requested_.exchange(true))
        return;
    if (stop_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
    }
}

void Listener::close_listening_socket() {
    const std::lock_guard lock(close_mutex_);
    if (listen_fd_ < 0)
        return;
    ::close(listen_fd_);
    listen_fd_ = -1;
    if (!unix_path_.empty()) {
        remove_unix_socket(unix_path_);
        unix_path_.clear();
    }
}

ListenerCounters Listener::counters() const {
    ListenerCounters out;
    out.connections = connections_.load(std::memory_order_relaxed);
    out.accepted = accepted_.load(std::memory_order_relaxed);
    out.requests = requests_.load(std::memory_order_relaxed);
    out.on_pool = on_pool_.load(std::memory_order_relaxed);
    out.refused = refused_.load(std::memory_order_relaxed);
    out.timed_out = timed_out_.load(std::memory_order_relaxed);
    out.accept_errors = accept_errors_.load(std::memory_order_relaxed);
    return out;
}

} // namespace keygate::http
