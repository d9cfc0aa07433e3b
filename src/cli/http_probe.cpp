// `keygate probe`: a minimal HTTP GET over TCP or a Unix socket, with one overall deadline.
#include "cli/http_probe.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace keygate::cli {

namespace {

using SteadyClock = std::chrono::steady_clock;

/// Closes a descriptor when it goes out of scope.
class Socket {
  public:
    explicit Socket(int fd) : m_fd(fd) {}
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    int fd() const { return m_fd; }

  private:
    int m_fd;
};

std::string endpoint_name(const ProbeTarget& target) {
    return target.unix_socket ? "unix:" + target.socket_path : target.host_header();
}

std::string timeout_text(std::chrono::milliseconds timeout) {
    const auto ms = timeout.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

/// Milliseconds left before `deadline` (0 once it has passed), as poll() wants them.
int remaining_ms(SteadyClock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

/// Waits until `fd` has `events` or the deadline passes; false on timeout.
bool wait_for(int fd, short events, SteadyClock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready > 0)
            return true;
        if (ready == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

/// A non-blocking connected socket to one address, or an error naming the step.
Result<int> connect_to(const sockaddr* address, socklen_t length, int family,
                       SteadyClock::time_point deadline, const std::string& name,
                       std::chrono::milliseconds timeout) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket: " + std::string(std::strerror(errno)));
    if (::connect(fd, address, length) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EAGAIN) {
        const int error = errno;
        ::close(fd);
        return fail("connect to " + name + ": " + std::strerror(error));
    }
    if (!wait_for(fd, POLLOUT, deadline)) {
        ::close(fd);
        return fail("connect to " + name + ": no connection within " + timeout_text(timeout));
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
        error = errno;
    if (error != 0) {
        ::close(fd);
        return fail("connect to " + name + ": " + std::strerror(error));
    }
    return fd;
}

Result<int> open_connection(const ProbeTarget& target, SteadyClock::time_point deadline,
                            std::chrono::milliseconds timeout) {
    const std::string name = endpoint_name(target);
    if (target.unix_socket) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (target.socket_path.size() >= sizeof address.sun_path) {
            return fail("the socket path is longer than " +
                        std::to_string(sizeof address.sun_path - 1) + " bytes");
        }
        std::memcpy(address.sun_path, target.socket_path.data(), target.socket_path.size());
        return connect_to(reinterpret_cast<const sockaddr*>(&address), sizeof address, AF_UNIX,
                          deadline, name, timeout);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(target.port);
    if (const int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return fail("cannot resolve '" + target.host + "': " + ::gai_strerror(rc));
    }
    Result<int> last = fail("cannot resolve '" + target.host + "': no address");
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        last = connect_to(a->ai_addr, a->ai_addrlen, a->ai_family, deadline, name, timeout);
        if (last)
            break;
    }
    ::freeaddrinfo(found);
    return last;
}

/// Parses "HTTP/1.x NNN reason" (the status line without its CRLF).
Result<ProbeResponse> parse_status_line(std::string_view line) {
    const bool shape = line.size() >= 12 && line.starts_with("HTTP/1.") && line[7] >= '0' &&
                       line[7] <= '9' && line[8] == ' ' && line[12 - 1] >= '0' &&
                       (line.size() == 12 || line[12] == ' ');
    if (!shape)
        return fail("the answer is not HTTP/1.x");
    int status = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9')
            return fail("the answer's status is not a number");
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100 || status > 599)
        return fail("the answer's status is out of range");
    ProbeResponse response{status, {}};
    for (const char c : line.size() > 13 ? line.substr(13) : std::string_view{}) {
        if (response.reason.size() == 64)
            break;
        const auto u = static_cast<unsigned char>(c);
        response.reason.push_back(u >= 0x20 && u < 0x7f ? c : '?');
    }
    return response;
}

} // namespace

Result<ProbeResponse> http_probe(const ProbeTarget& target, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    auto connected = open_connection(target, deadline, timeout);
    if (!connected)
        return fail(connected.error().message);
    const Socket socket(*connected);

    const std::string request = "GET " + target.path +
                                " HTTP/1.1\r\nHost: " + target.host_header() +
                                "\r\nUser-Agent: keygate-probe\r\nAccept: */*\r\n"
                                "Connection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n =
            ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(socket.fd(), POLLOUT, deadline)) {
                return fail("could not send the request within " + timeout_text(timeout));
            }
            continue;
        }
        return fail("send to " + endpoint_name(target) + ": " + std::strerror(errno));
    }

    constexpr std::size_t k_max_status_line = 8192;
    std::string received;
    char buffer[1024];
    for (;;) {
        if (const std::size_t end = received.find("\r\n"); end != std::string::npos) {
            return parse_status_line(std::string_view(received).substr(0, end));
        }
        if (received.size() > k_max_status_line)
            return fail("the status line is too long");
        if (!wait_for(socket.fd(), POLLIN, deadline)) {
            return fail("no answer from " + endpoint_name(target) + " within " +
                        timeout_text(timeout));
        }
        const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
        if (n > 0) {
            received.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return fail(endpoint_name(target) + " closed the connection without an answer");
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            return fail("receive from " + endpoint_name(target) + ": " + std::strerror(errno));
        }
    }
}

} // namespace keygate::cli
