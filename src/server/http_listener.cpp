// The listener: bind with a real backlog, our own connection loop, a clean stop.
#include "server/http_listener.hpp"

#include "http/unix_socket.hpp"
#include "server/ascii.hpp"
#include "server/direct_request.hpp"
#include "server/head_parser.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace keygate {
namespace {

thread_local ConnectionContext* t_connection = nullptr;

/// Forwards to the listener's pool; cpp-httplib deletes the TaskQueue it is given, but
/// the pool must outlive that (the listener reports its size).
class PoolHandle final : public httplib::TaskQueue {
  public:
    explicit PoolHandle(ElasticTaskQueue& pool) : pool_(pool) {}
    void enqueue(std::function<void()> fn) override { pool_.enqueue(std::move(fn)); }
    void shutdown() override { pool_.shutdown(); }

  private:
    ElasticTaskQueue& pool_;
};

struct Endpoint {
    IpAddress address;
    std::string text;
    int port = -1;
};

Endpoint endpoint_of(const sockaddr_storage& storage) {
    Endpoint out;
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
        // IPv4 is held in its mapped form (::ffff:a.b.c.d), as parse_ip does.
        out.address.bytes[10] = 0xff;
        out.address.bytes[11] = 0xff;
        std::memcpy(out.address.bytes.data() + 12, &v4.sin_addr, 4);
        ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
        out.port = ntohs(v4.sin_port);
    } else if (storage.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage);
        std::memcpy(out.address.bytes.data(), &v6.sin6_addr, 16);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        out.port = ntohs(v6.sin6_port);
    } else if (storage.ss_family == AF_UNIX) {
        // A Unix socket peer has no address: it is in the pod (the file's mode decides who
        // may connect), so it counts as loopback for trusted_proxies and ip_allowlist.
        out.address.bytes[10] = 0xff;
        out.address.bytes[11] = 0xff;
        out.address.bytes[12] = 127;
        out.address.bytes[15] = 1;
        out.text = "127.0.0.1";
        out.port = 0;
        return out;
    }
    out.text = text;
    return out;
}

Endpoint peer_of(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return {};
    return endpoint_of(storage);
}

Endpoint local_of(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return {};
    return endpoint_of(storage);
}

/// The headers strip_request_extras() removes: cpp-httplib's pseudo-headers (which a
/// client can send too), Accept-Encoding and Range.
bool stripped_header(std::string_view name) {
    switch (name.size()) {
    case 5:
        return ascii_iequals(name, "Range");
    case 10:
        return ascii_iequals(name, "LOCAL_ADDR") || ascii_iequals(name, "LOCAL_PORT");
    case 11:
        return ascii_iequals(name, "REMOTE_ADDR") || ascii_iequals(name, "REMOTE_PORT");
    case 15:
        return ascii_iequals(name, "Accept-Encoding");
    default:
        return false;
    }
}

} // namespace

ConnectionContext* current_connection() {
    return t_connection;
}

void strip_request_extras(httplib::Request& req) {
    // One pass: a lookup in httplib::Headers calls tolower() per compared character.
    for (auto it = req.headers.begin(); it != req.headers.end();) {
        it = stripped_header(it->first) ? req.headers.erase(it) : std::next(it);
    }
    // An auth subrequest carries the client's Range header: an answer must not be cut to
    // it (nor become a 416, which nginx turns into a 500).
    req.ranges.clear();
}

HttpListener::HttpListener(ListenerOptions options)
    : options_(options), pool_(std::make_unique<ElasticTaskQueue>(options.threads)),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    set_tcp_nodelay(true);
    // cpp-httplib's default sets SO_REUSEPORT: a second keygate (or any process of the same
    // user) could then bind the same port and silently take half of the connections.
    // SO_REUSEADDR alone still allows a restart while old connections are in TIME_WAIT.
    set_socket_options([](socket_t sock) {
        const int on = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    });
    // Our connection loop decides keep-alive; these only shape the Keep-Alive header.
    set_keep_alive_max_count(options_.keep_alive_max_requests);
    set_keep_alive_timeout(options_.keep_alive_timeout.count());
    set_read_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(options_.stream.read_timeout));
    set_write_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(options_.stream.write_timeout));
    set_payload_max_length(options_.max_body_bytes);
    new_task_queue = [this] { return new PoolHandle(*pool_); };
}

HttpListener::~HttpListener() {
    stop();
    pool_->shutdown();
    close_listening_socket();
    if (stop_fd_ >= 0)
        ::close(stop_fd_);
}

Result<int> HttpListener::bind(const std::string& host, int port) {
    errno = 0;
    const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
        const int error = errno;
        return fail("cannot listen on " + host + ":" + std::to_string(port) +
                    (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
    }
    // cpp-httplib listened with a backlog of 5; Linux updates the backlog of a listening
    // socket on a second listen().
    if (::listen(svr_sock_.load(), options_.backlog) != 0) {
        return fail(std::string("listen() failed: ") + std::strerror(errno));
    }
    return bound;
}

Result<void> HttpListener::bind_unix(const std::string& path) {
    auto fd = listen_unix_socket(path, options_.backlog);
    if (!fd)
        return Unexpected<Error>(fd.error());
    svr_sock_.store(*fd);
    unix_path_ = path;
    return {};
}

bool HttpListener::run() {
    run_started_.store(true);
    bool ok = true;
    if (!stop_requested_.load()) {
        if (options_.event_loop) {
            ok = run_event_loop();
            close_listening_socket();
            // Connections on pool threads see the stop too; wait for them.
            pool_->shutdown();
        } else {
            ok = listen_after_bind();
        }
    }
    run_finished_.store(true);
    return ok;
}

void HttpListener::stop() {
    // Serialized: a second caller (the destructor, after run() returned because a signal
    // thread called stop()) waits until the first one is done with this object.
    const std::lock_guard lock(stop_mutex_);
    if (stop_requested_.exchange(true))
        return;
    if (stop_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
    }
    // The event loop watches stop_fd_ itself.
    if (options_.event_loop)
        return;
    // httplib's stop() does nothing until listen_after_bind() has set its running flag:
    // wait for that unless run() has not started (it then sees stop_requested_ itself).
    while (run_started_.load() && !run_finished_.load() && !is_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (is_running())
        httplib::Server::stop();
}

void HttpListener::close_listening_socket() {
    const socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
    if (sock != INVALID_SOCKET) {
        ::shutdown(sock, SHUT_RDWR);
        ::close(sock);
        // Only after closing our own socket: the path may belong to a newer process later.
        if (!unix_path_.empty())
            remove_unix_socket(unix_path_);
    }
}

LoopCounters HttpListener::loop_counters() const {
    return {loop_connections_.load(), loop_requests_.load(), handoffs_.load(),
            direct_requests_.load()};
}

std::shared_ptr<HttpListener::Connection> HttpListener::open_connection(int fd) {
    auto connection = std::make_shared<Connection>();
    connection->fd = fd;
    connection->context.stopping = &stop_requested_;
    const Endpoint peer = peer_of(fd);
    const Endpoint local = local_of(fd);
    connection->context.peer = peer.address;
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    connection->stream = std::make_unique<ConnectionStream>(
        fd, stop_fd_, options_.stream, peer.text, peer.port, local.text, local.port);
    connection->idle_since = std::chrono::steady_clock::now();
    return connection;
}

bool HttpListener::serve_request(Connection& connection) {
    ConnectionStream& stream = *connection.stream;
    stream.begin_request();
    connection.context.close_after_response = false;
    const bool last =
        ++connection.served >= options_.keep_alive_max_requests || stop_requested_.load();
    connection.context.last_request = last;
    connection.context.head_problem = 0;
    // cpp-httplib has parsed the head (and percent-decoded every header value): the fields
    // the handlers see are read again, raw, by the one strict head reader.
    const std::function<void(httplib::Request&)> setup = [&stream,
                                                          &connection](httplib::Request& req) {
        RequestHead head;
        const HeadProblem problem = parse_request_head(stream.raw_head(), head);
        if (problem == HeadProblem::none) {
            fill_header_map(head, req.headers);
        } else {
            connection.context.head_problem = static_cast<int>(problem);
            req.headers.clear();
        }
        stream.begin_body();
        strip_request_extras(req);
    };
    bool connection_closed = false;
    t_connection = &connection.context;
    const bool ok = process_request(stream, last, connection_closed, setup);
    t_connection = nullptr;
    return ok && !last && !connection_closed && !connection.context.close_after_response &&
           !stream.failed();
}

std::optional<bool> HttpListener::serve_direct(Connection& connection) {
    if (!direct_handler_)
        return std::nullopt;
    ConnectionStream& stream = *connection.stream;
    httplib::Request req;
    const std::optional<DirectHead> head = parse_direct_head(stream.buffered(), req);
    if (!head)
        return std::nullopt;
    stream.consume(head->length);
    direct_requests_.fetch_add(1, std::memory_order_relaxed);
    connection.context.close_after_response = false;
    connection.context.head_problem = 0;
    const bool last =
        ++connection.served >= options_.keep_alive_max_requests || stop_requested_.load();
    connection.context.last_request = last;
    stream.get_remote_ip_and_port(req.remote_addr, req.remote_port);
    stream.get_local_ip_and_port(req.local_addr, req.local_port);
    strip_request_extras(req);

    httplib::Response res;
    res.version = "HTTP/1.1";
    t_connection = &connection.context;
    direct_handler_(req, res);
    t_connection = nullptr;
    std::string out;
    out.reserve(512 + res.body.size());
    write_direct_response(
        req, res,
        {last || head->close, static_cast<long>(keep_alive_timeout_sec_), keep_alive_max_count_},
        out);
    stream.write(out.data(), out.size());
    return !last && !head->close && !connection.context.close_after_response && !stream.failed();
}

void HttpListener::serve_on_thread(Connection& connection) {
    ConnectionStream& stream = *connection.stream;
    stream.set_waiting(true);
    // What the event loop could not send yet goes first.
    bool open = stream.flush() && !connection.closing;
    const std::function<bool()> give_up = [this] { return pool_->saturated(); };
    while (open) {
        const auto idle = connection.served == 0
                              ? options_.stream.read_timeout
                              : std::chrono::milliseconds(options_.keep_alive_timeout);
        if (stream.wait_for_request(idle,
                                    connection.served == 0 ? std::function<bool()>() : give_up) !=
            ConnectionStream::Wait::request) {
            break;
        }
        const bool keep = serve_request(connection);
        open = stream.flush() && keep;
    }
    if (connection.context.close_after_response && !stream.failed())
        stream.drain_before_close();
    ::shutdown(connection.fd, SHUT_RDWR);
    ::close(connection.fd);
}

void HttpListener::hand_off(std::shared_ptr<Connection> connection) {
    handoffs_.fetch_add(1, std::memory_order_relaxed);
    pool_->enqueue([this, connection = std::move(connection)] { serve_on_thread(*connection); });
}

bool HttpListener::process_and_close_socket(socket_t sock) {
    const std::shared_ptr<Connection> connection = open_connection(sock);
    serve_on_thread(*connection);
    return true;
}

} // namespace keygate
