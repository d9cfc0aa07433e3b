// The event loop: every connection, from accept to close, on one thread.
//
// A connection is in one of five states:
//   head     — reading a request head (idle until its first byte);
//   body     — the head is parsed, reading its body (Content-Length or chunked);
//   handling — a pool thread is answering the request (the socket is not watched);
//   writing  — a response is waiting for the socket to take it;
//   linger   — the response is sent and the connection ends: our side is shut down and
//              what the client still sends is read and dropped for a moment, so that
//              closing does not reset the connection before the client has read us.
// Every state but handling has a deadline; a sweep closes connections past theirs.
#include "http/ascii.hpp"
#include "http/listener.hpp"
#include "http/request_framing.hpp"
#include "http/response_writer.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace keygate::http {
namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// How long accepting pauses when accept() fails for lack of resources (EMFILE...).
constexpr auto k_accept_pause = 100ms;
/// At most one log line per this interval about accept() failures.
constexpr auto k_accept_log_interval = 1s;
/// How long a closing connection reads and drops what the client still sends.
constexpr auto k_linger = 500ms;
/// How much a closing connection reads and drops at most.
constexpr std::size_t k_linger_bytes = 1024 * 1024;
/// What one recv() reads at most.
constexpr std::size_t k_read_chunk = 64 * 1024;

/// Requests one connection may have answered per turn of the loop; the rest of a pipelined
/// burst waits for the next turn, so that one client cannot hold the loop.
constexpr int k_requests_per_turn = 16;

/// A connection keeps its output buffer up to this capacity between answers.
constexpr std::size_t k_kept_output_bytes = 16 * 1024;
/// ... and its response's header block and body up to this.
constexpr std::size_t k_kept_response_bytes = 4 * 1024;

constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

/// The peer's address; a unix-socket peer (the proxy beside us) counts as 127.0.0.1.
struct Peer {
    IpAddress address;
    std::string text;
    int port = 0;
};

Peer peer_of(int fd) {
    Peer out;
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return out;
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage);
        std::memcpy(out.address.bytes.data(), &v6.sin6_addr, 16);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        out.port = ntohs(v6.sin6_port);
        out.text = text;
        return out;
    }
    in_addr v4{};
    if (storage.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
        v4 = in.sin_addr;
        out.port = ntohs(in.sin_port);
    } else {
        v4.s_addr = htonl(INADDR_LOOPBACK);
    }
    // IPv4 is held in its mapped form (::ffff:a.b.c.d), as parse_ip does.
    out.address.bytes[10] = 0xff;
    out.address.bytes[11] = 0xff;
    std::memcpy(out.address.bytes.data() + 12, &v4, 4);
    ::inet_ntop(AF_INET, &v4, text, sizeof text);
    out.text = text;
    return out;
}

/// True when a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (ascii_iequals(item, token))
            return true;
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

/// What a client's head says about keeping the connection.
bool client_wants_close(const RequestHead& head) {
    bool close = false;
    bool keep_alive = false;
    for (const HeadField& field : head.fields) {
        if (ascii_iequals(field.name, "Connection")) {
            close = close || has_token(field.value, "close");
            keep_alive = keep_alive || has_token(field.value, "keep-alive");
        }
    }
    if (head.version == "HTTP/1.1")
        return close;
    return close || !keep_alive; // HTTP/1.0 closes unless asked otherwise
}

/// The method and target of the request line at the start of `bytes`, as far as it goes
/// (complete or not, ending in CRLF or a bare LF), for a refusal's answer: an /auth/nginx
/// refusal is answered 403. Left empty when there is not even a method and a space.
void read_request_line(std::string_view bytes, Request& req) {
    std::string_view line = bytes.substr(0, bytes.find('\n'));
    if (line.ends_with('\r'))
        line.remove_suffix(1);
    const auto first = line.find(' ');
    if (first == std::string_view::npos)
        return;
    std::string_view target = line.substr(first + 1);
    target = target.substr(0, target.find(' '));
    req.method = std::string(line.substr(0, first));
    req.target = std::string(target);
    req.path = req.target.substr(0, req.target.find('?'));
}

int millis_until(SteadyClock::time_point deadline, SteadyClock::time_point now) {
    if (deadline <= now)
        return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
}

} // namespace

/// One accepted connection.
struct Listener::Connection {
    enum class State { head, body, handling, writing, linger, closed };

    int fd = -1;
    std::uint64_t id = 0;
    State state = State::head;
    ConnectionContext context;
    std::string remote_text;
    int remote_port = 0;
    std::string in;            ///< received; the first `consumed` bytes are read already
    std::size_t consumed = 0;  ///< of `in`
    std::size_t chunk_pos = 0; ///< a chunked body: where its next chunk starts in buffered()
    std::string out;           ///< to send
    std::size_t sent = 0;      ///< of `out`
    HeadScan scan;
    RequestHead head;  ///< the head being started (views into `in`; only within advance())
    Request request;   ///< the request being read (state body) or answered
    Response response; ///< the answer written on the loop (reused; pool answers have their own)
    BodyFraming framing;
    bool client_close = false;
    bool peer_closed = false; ///< the client shut down its side: end after this answer
    bool close_after_write = false;
    bool advancing = false; ///< inside advance(): the pipelined rest is read there
    std::size_t served = 0;
    std::size_t lingered = 0;
    SteadyClock::time_point deadline;
    std::uint32_t watched = 0; ///< the epoll events asked for now
    bool registered = true;    ///< in the epoll set (taken out while nothing is wanted)

    /// The bytes received and not read yet.
    std::string_view buffered() const { return std::string_view(in).substr(consumed); }
    /// Marks the first `n` buffered bytes read. Compacts now and then, never per request,
    /// so that a pipelined burst costs no quadratic copying.
    void consume(std::size_t n) {
        consumed += n;
        if (consumed >= in.size()) {
            in.clear();
            consumed = 0;
        } else if (consumed >= 64 * 1024 && consumed * 2 >= in.size()) {
            in.erase(0, consumed);
            consumed = 0;
        }
    }
    /// Drops everything buffered.
    void drop_buffer() {
        in.clear();
        consumed = 0;
    }
};

/// The loop's state; lives on the stack of run().
class Listener::Loop {
  public:
    explicit Loop(Listener& listener) : l_(listener) {}
    ~Loop() {
        if (epoll_fd_ >= 0)
            ::close(epoll_fd_);
        if (done_fd_ >= 0)
            ::close(done_fd_);
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    bool run();

  private:
    /// A response a pool thread has written.
    struct Completion {
        int fd;
        std::uint64_t id;
        std::string bytes;
        bool close;
    };

    bool watch(int fd, std::uint32_t events, bool add) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        return ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0;
    }
    /// Watches `c` for `events`; with none, takes it out of epoll altogether (EPOLLERR and
    /// EPOLLHUP are reported even for an empty mask, and level-triggered they would spin).
    void want(Connection& c, std::uint32_t events) {
        if (c.watched == events && c.registered == (events != 0))
            return;
        if (events == 0) {
            if (c.registered)
                ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
            c.registered = false;
        } else if (watch(c.fd, events, !c.registered)) {
            c.registered = true;
        }
        c.watched = events;
    }
    /// Bytes `c` may hold unread before the loop stops reading from its socket: a whole
    /// head, or the body being read (and a head after it).
    std::size_t read_cap(const Connection& c) const {
        std::size_t cap = k_max_head + k_read_chunk;
        if (c.state == Connection::State::body)
            cap += c.framing.kind == BodyFraming::Kind::length ? c.framing.length
                                                               : l_.options_.max_body_bytes;
        return cap;
    }
    /// Reads on only while the buffer is under its cap (and the client has not closed).
    void update_interest(Connection& c) {
        if (c.state == Connection::State::head || c.state == Connection::State::body)
            want(c, !c.peer_closed && c.buffered().size() < read_cap(c) ? std::uint32_t{EPOLLIN}
                                                                        : std::uint32_t{0});
    }

    void accept_all(SteadyClock::time_point now);
    void on_event(Connection& c, std::uint32_t events, SteadyClock::time_point now);
    /// Reads what the socket has. False when the connection ended.
    bool receive(Connection& c);
    /// Moves a connection on as far as its buffered bytes allow.
    void advance(Connection& c, SteadyClock::time_point now);
    void advance_requests(Connection& c, SteadyClock::time_point now);
    bool pending_has(const Connection& c) const {
        return std::find(pending_.begin(), pending_.end(), std::make_pair(c.fd, c.id)) !=
               pending_.end();
    }
    void start_request(Connection& c, std::string_view head_bytes, const RequestHead& head,
                       SteadyClock::time_point now);
    void dispatch(Connection& c, SteadyClock::time_point now);
    void refuse(Connection& c, int status, const char* why, SteadyClock::time_point now);
    /// Frames the handler's response for `c` (its keep-alive decided) into `out`.
    bool frame(const Connection& c, const Request& req, const ConnectionContext& context,
               const Response& res, std::string& out) const;
    void respond(Connection& c, std::string bytes, bool close, SteadyClock::time_point now);
    /// Sends what `c.out` holds now (a response just framed into it), then goes on.
    void queued(Connection& c, bool close, SteadyClock::time_point now);
    void flush(Connection& c, SteadyClock::time_point now);
    void linger(Connection& c, SteadyClock::time_point now);
    /// Ends a connection (at the next reap()).
    void close(Connection& c);
    /// Closes the connections close() ended; called after each event.
    void reap();
    void take_completions(SteadyClock::time_point now);
    void sweep(SteadyClock::time_point now);
    void begin_stop(SteadyClock::time_point now);
    /// Tells handlers_.rejected why a timed-out connection is closed (not an idle
    /// keep-alive connection: closing those is routine).
    void report_timeout(const Connection& c) const;

    Listener& l_;
    int epoll_fd_ = -1;
    int done_fd_ = -1;
    std::unordered_map<int, std::unique_ptr<Connection>> connections_;
    std::vector<int> dead_; ///< closed, not reaped yet
    /// Connections with buffered requests left for the next turn (fd, id).
    std::vector<std::pair<int, std::uint64_t>> pending_;
    std::uint64_t next_id_ = 1;
    std::vector<char> scratch_ = std::vector<char>(k_read_chunk);
    bool accepting_ = true;
    SteadyClock::time_point accept_resume_{};
    SteadyClock::time_point last_accept_log_{};
    std::uint64_t accept_errors_logged_ = 0;
    bool stopping_ = false;
    SteadyClock::time_point stop_deadline_{};

    std::mutex done_mutex_;
    std::vector<Completion> done_;
};

void Listener::Loop::accept_all(SteadyClock::time_point now) {
    for (;;) {
        const int fd = ::accept4(l_.listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            // Out of descriptors or memory: count it, say so (once a second at most), and
            // stop asking for a while instead of spinning on a listening socket that
            // stays readable.
            const int error = errno;
            const std::uint64_t total =
                l_.accept_errors_.fetch_add(1, std::memory_order_relaxed) + 1;
            if (now - last_accept_log_ >= k_accept_log_interval) {
                spdlog::warn("accept failed: {} ({} failures, {} since the last warning); "
                             "connections open: {}",
                             std::strerror(error), total, total - accept_errors_logged_,
                             connections_.size());
                last_accept_log_ = now;
                accept_errors_logged_ = total;
            }
            if (watch(l_.listen_fd_, 0, false)) {
                accepting_ = false;
                accept_resume_ = now + k_accept_pause;
            }
            return;
        }
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->id = next_id_++;
        const Peer peer = peer_of(fd);
        c->context.peer = peer.address;
        c->context.stopping = &l_.stop_requested_;
        c->remote_text = peer.text;
        c->remote_port = peer.port;
        const int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); // fails on unix sockets
        c->deadline = now + l_.options_.read_timeout;
        if (!watch(fd, EPOLLIN, true)) {
            ::close(fd);
            continue;
        }
        c->watched = EPOLLIN;
        l_.accepted_.fetch_add(1, std::memory_order_relaxed);
        connections_.emplace(fd, std::move(c));
        l_.connections_.store(connections_.size(), std::memory_order_relaxed);
    }
}

bool Listener::Loop::receive(Connection& c) {
    const std::size_t cap = read_cap(c);
    while (c.buffered().size() < cap) {
        const ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), 0);
        if (n > 0) {
            c.in.append(scratch_.data(), static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < scratch_.size())
                return true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        return false; // closed by the client, or reset
    }
    return true; // enough for now: update_interest() stops reading until it is read
}

void Listener::Loop::on_event(Connection& c, std::uint32_t events, SteadyClock::time_point now) {
    switch (c.state) {
    case Connection::State::linger: {
        for (;;) {
            const ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), 0);
            if (n > 0) {
                c.lingered += static_cast<std::size_t>(n);
                if (c.lingered < k_linger_bytes)
                    continue;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            return close(c);
        }
    }
    case Connection::State::writing:
        if ((events & (EPOLLERR | EPOLLHUP)) != 0)
            return close(c);
        return flush(c, now);
    case Connection::State::handling:
    case Connection::State::closed:
        return; // not watched
    case Connection::State::head:
    case Connection::State::body:
        if (!receive(c)) {
            // The client has closed its side (or reset): the requests it sent whole are
            // still answered (a client may half-close after sending), then it ends.
            c.peer_closed = true;
            want(c, 0);
        }
        advance(c, now);
        return;
    }
}

void Listener::Loop::advance(Connection& c, SteadyClock::time_point now) {
    // Iterative over pipelined requests: flush() does not call back in while this runs.
    c.advancing = true;
    advance_requests(c, now);
    c.advancing = false;
    // A half-closed client with no whole request left: nothing more will come.
    if (c.peer_closed &&
        (c.state == Connection::State::head || c.state == Connection::State::body) &&
        !pending_has(c)) {
        close(c);
        return;
    }
    update_interest(c);
}

void Listener::Loop::advance_requests(Connection& c, SteadyClock::time_point now) {
    int answered = 0;
    while (c.state == Connection::State::head || c.state == Connection::State::body) {
        if (c.state == Connection::State::head && answered++ >= k_requests_per_turn &&
            !c.buffered().empty()) {
            pending_.push_back({c.fd, c.id}); // the rest next turn
            return;
        }
        if (c.state == Connection::State::head) {
            if (c.scan.scanned == 0) {
                // Empty lines before a request line are ignored (RFC 9112 2.2).
                std::string_view rest = c.buffered();
                std::size_t skip = 0;
                while (skip + 1 < rest.size() && rest[skip] == '\r' && rest[skip + 1] == '\n')
                    skip += 2;
                c.consume(skip);
                rest = c.buffered();
                // Nothing, or the CR of an empty line whose LF is still on its way.
                if (rest.empty() || rest == "\r")
                    return;
                // The first byte of a request: its head must be whole within the read
                // timeout from now (a connection's first request: from the accept).
                if (c.served > 0)
                    c.deadline = now + l_.options_.read_timeout;
            }
            const HeadScanResult scan = scan_head(c.buffered(), c.scan);
            if (scan.end == HeadEnd::incomplete)
                return;
            if (scan.end == HeadEnd::refused)
                return refuse(c, head_problem_status(scan.problem), head_problem_text(scan.problem),
                              now);
            RequestHead& head = c.head; // reused: its field vector keeps its capacity
            const std::string_view bytes = c.buffered().substr(0, scan.length);
            if (const HeadProblem problem = parse_request_head(bytes, head);
                problem != HeadProblem::none) {
                return refuse(c, head_problem_status(problem), head_problem_text(problem), now);
            }
            c.scan = {};
            start_request(c, bytes, head, now);
            if (c.state != Connection::State::body)
                return; // refused (its buffer is dropped)
            c.consume(scan.length);
            c.chunk_pos = 0;
            c.request.body.clear();
            continue;
        }
        // State body.
        switch (c.framing.kind) {
        case BodyFraming::Kind::none:
            dispatch(c, now);
            continue;
        case BodyFraming::Kind::length:
            if (c.buffered().size() < c.framing.length)
                return;
            c.request.body.assign(c.buffered().substr(0, c.framing.length));
            c.consume(c.framing.length);
            dispatch(c, now);
            continue;
        case BodyFraming::Kind::chunked: {
            switch (decode_chunked(c.buffered(), l_.options_.max_body_bytes, c.request.body,
                                   c.chunk_pos)) {
            case ChunkedEnd::incomplete:
                // Framing (sizes, extensions, trailers) may not outgrow the body itself.
                if (c.buffered().size() > l_.options_.max_body_bytes + k_max_head)
                    return refuse(c, 413, "Request body too large", now);
                return;
            case ChunkedEnd::invalid:
                return refuse(c, 400, "Invalid chunked body", now);
            case ChunkedEnd::too_large:
                return refuse(c, 413, "Request body too large", now);
            case ChunkedEnd::complete:
                c.consume(c.chunk_pos);
                c.chunk_pos = 0;
                dispatch(c, now);
                continue;
            }
        }
        }
    }
}

void Listener::Loop::start_request(Connection& c, std::string_view head_bytes,
                                   const RequestHead& head, SteadyClock::time_point now) {
    Request& req = c.request;
    req.set_head(head_bytes, head); // raw, never decoded; one copy of the head
    req.body.clear();
    req.remote_addr = c.remote_text;
    req.remote_port = c.remote_port;
    if (head.version != "HTTP/1.1" && head.version != "HTTP/1.0") {
        refuse(c, 505, "HTTP version not supported", now);
        return;
    }
    c.client_close = client_wants_close(head);
    c.framing = body_framing(head, l_.options_.max_body_bytes);
    if (c.framing.status != 0) {
        refuse(c, c.framing.status, c.framing.why, now);
        return;
    }
    c.state = Connection::State::body;
    c.deadline = now + l_.options_.read_timeout;
    if (c.framing.expect_continue && c.framing.kind != BodyFraming::Kind::none &&
        c.buffered().size() - head.length <
            c.framing.length + (c.framing.kind == BodyFraming::Kind::chunked ? 1 : 0)) {
        // The client waits for this before it sends the body.
        const ssize_t n =
            ::send(c.fd, k_continue.data(), k_continue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n; // a socket that cannot take 25 bytes now is past saving; the body times out
    }
}

void Listener::Loop::dispatch(Connection& c, SteadyClock::time_point now) {
    ++c.served;
    c.context.last_request =
        c.served >= l_.options_.keep_alive_max_requests || l_.stop_requested_.load();
    c.context.close_after_response = false;
    c.context.refusal_status = 0;
    c.context.refusal_why = "";
    const bool on_loop = !l_.handlers_.on_loop || l_.handlers_.on_loop(c.request);
    if (on_loop) {
        // The connection's response and output buffers are reused request after request:
        // no allocation per answer once they have grown to a decision's size.
        Response& res = c.response;
        res.clear();
        {
            const ConnectionScope scope(c.context);
            l_.handlers_.answer(c.request, res);
        }
        bool close = false;
        if (c.sent == c.out.size()) {
            c.out.clear();
            c.sent = 0;
            close = frame(c, c.request, c.context, res, c.out);
        } else {
            std::string bytes;
            close = frame(c, c.request, c.context, res, bytes);
            c.out += bytes;
        }
        if (res.body.capacity() > k_kept_response_bytes ||
            res.headers.block().size() > k_kept_response_bytes) {
            res = Response{}; // a large answer gives its memory back
        }
        c.request.clear();
        return queued(c, close, now);
    }
    // A pool thread answers; the loop stops watching the socket until the answer is back.
    c.state = Connection::State::handling;
    want(c, 0);
    l_.on_pool_.fetch_add(1, std::memory_order_relaxed);
    // Asked before the request moves into the task.
    const bool waits = l_.handlers_.may_wait && l_.handlers_.may_wait(c.request);
    auto task = [this, fd = c.fd, id = c.id, request = std::move(c.request), context = c.context,
                 served = c.served, client_close = c.client_close]() mutable {
        Response res;
        {
            const ConnectionScope scope(context);
            l_.handlers_.answer(request, res);
        }
        Connection shape;
        shape.served = served;
        shape.client_close = client_close;
        std::string bytes;
        const bool close = frame(shape, request, context, res, bytes);
        {
            const std::lock_guard lock(done_mutex_);
            done_.push_back({fd, id, std::move(bytes), close});
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(done_fd_, &one, sizeof one);
    };
    c.request = Request{};
    (waits ? l_.waiting_pool_ : l_.pool_)->enqueue(std::move(task));
}

bool Listener::Loop::frame(const Connection& c, const Request& req,
                           const ConnectionContext& context, const Response& res,
                           std::string& out) const {
    bool close = context.last_request || context.close_after_response || c.client_close ||
                 context.refusal_status != 0;
    if (res.headers.has_framing_field()) { // a handler's own "Connection: close" counts
        for (const auto& [name, value] : res.headers) {
            if (ascii_iequals(name, "Connection") && has_token(value, "close"))
                close = true;
        }
    }
    ResponseFraming framing;
    framing.close_connection = close;
    framing.keep_alive_timeout_s = static_cast<long>(l_.options_.keep_alive_timeout.count());
    framing.keep_alive_max = l_.options_.keep_alive_max_requests;
    framing.head_request = req.method == "HEAD";
    out.reserve(256 + res.body.size());
    write_response(res, framing, out);
    return close;
}

void Listener::Loop::refuse(Connection& c, int status, const char* why,
                            SteadyClock::time_point now) {
    l_.refused_.fetch_add(1, std::memory_order_relaxed);
    if (l_.handlers_.rejected)
        l_.handlers_.rejected({c.remote_text, status, why});
    Request req;
    if (c.state == Connection::State::head)
        read_request_line(c.buffered(), req);
    else
        req = std::move(c.request);
    req.remote_addr = c.remote_text;
    req.remote_port = c.remote_port;
    ++c.served;
    c.context.last_request = true;
    c.context.refusal_status = status;
    c.context.refusal_why = why;
    Response res;
    if (l_.handlers_.answer) {
        const ConnectionScope scope(c.context);
        l_.handlers_.answer(req, res);
    }
    if (res.status < 400) {
        res.status = status;
        res.headers.clear();
        res.body.clear();
    }
    std::string bytes;
    frame(c, req, c.context, res, bytes);
    c.drop_buffer();
    c.request = Request{};
    respond(c, std::move(bytes), true, now);
}

void Listener::Loop::respond(Connection& c, std::string bytes, bool close,
                             SteadyClock::time_point now) {
    if (c.sent == c.out.size()) {
        c.out = std::move(bytes);
        c.sent = 0;
    } else {
        c.out += bytes;
    }
    queued(c, close, now);
}

void Listener::Loop::queued(Connection& c, bool close, SteadyClock::time_point now) {
    l_.requests_.fetch_add(1, std::memory_order_relaxed);
    c.close_after_write = close;
    c.state = Connection::State::writing;
    c.deadline = now + l_.options_.write_timeout;
    flush(c, now);
}

void Listener::Loop::flush(Connection& c, SteadyClock::time_point now) {
    while (c.sent < c.out.size()) {
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.sent += static_cast<std::size_t>(n);
            c.deadline = now + l_.options_.write_timeout; // progress
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want(c, EPOLLOUT);
            return;
        }
        return close(c);
    }
    c.out.clear();
    if (c.out.capacity() > k_kept_output_bytes)
        c.out.shrink_to_fit(); // a large answer (a pool's /metrics page) gives its memory back
    c.sent = 0;
    if (c.close_after_write)
        return c.peer_closed ? close(c) : linger(c, now);
    c.state = Connection::State::head;
    c.scan = {};
    c.deadline = now + std::chrono::milliseconds(l_.options_.keep_alive_timeout);
    if (c.advancing)
        return; // advance() goes on with the pipelined rest
    if (!c.buffered().empty() || c.peer_closed)
        advance(c, now); // a pipelined request, or the end of a half-closed connection
    else
        update_interest(c);
}

void Listener::Loop::linger(Connection& c, SteadyClock::time_point now) {
    ::shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::linger;
    c.drop_buffer();
    c.in.shrink_to_fit();
    c.deadline = now + (stopping_ ? std::min<SteadyClock::duration>(k_linger, 100ms) : k_linger);
    want(c, EPOLLIN);
}

void Listener::Loop::close(Connection& c) {
    // Deferred to reap(): callers up the stack may still hold `c`.
    if (c.state == Connection::State::closed)
        return;
    c.state = Connection::State::closed;
    dead_.push_back(c.fd);
}

void Listener::Loop::reap() {
    for (const int fd : dead_) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        connections_.erase(fd);
    }
    dead_.clear();
    l_.connections_.store(connections_.size(), std::memory_order_relaxed);
}

void Listener::Loop::take_completions(SteadyClock::time_point now) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(done_fd_, &count, sizeof count);
    std::vector<Completion> done;
    {
        const std::lock_guard lock(done_mutex_);
        done.swap(done_);
    }
    for (Completion& completion : done) {
        const auto it = connections_.find(completion.fd);
        if (it == connections_.end() || it->second->id != completion.id)
            continue;
        Connection& c = *it->second;
        respond(c, std::move(completion.bytes), completion.close, now);
    }
}

void Listener::Loop::sweep(SteadyClock::time_point now) {
    std::vector<int> expired;
    for (const auto& [fd, c] : connections_) {
        if (c->state == Connection::State::handling)
            continue;
        auto deadline = c->deadline;
        if (stopping_ && c->state != Connection::State::writing)
            deadline = std::min(deadline, stop_deadline_);
        if (stopping_ && c->state == Connection::State::head && c->buffered().empty())
            deadline = now; // idle: nothing to finish
        if (now >= deadline)
            expired.push_back(fd);
    }
    for (const int fd : expired) {
        Connection& c = *connections_[fd];
        if (c.state != Connection::State::linger &&
            !(stopping_ && c.state == Connection::State::head && c.buffered().empty())) {
            l_.timed_out_.fetch_add(1, std::memory_order_relaxed);
            report_timeout(c);
        }
        close(c);
    }
}

void Listener::Loop::report_timeout(const Connection& c) const {
    if (!l_.handlers_.rejected)
        return;
    std::string_view reason;
    switch (c.state) {
    case Connection::State::head:
        if (c.buffered().empty() && c.served > 0)
            return; // idle between requests
        reason = c.buffered().empty() ? "read timeout: no request"
                                      : "read timeout: request head not complete";
        break;
    case Connection::State::body:
        reason = "read timeout: request body not complete";
        break;
    case Connection::State::writing:
        reason = "write timeout: the client took no response";
        break;
    default:
        return;
    }
    l_.handlers_.rejected({c.remote_text, 0, reason});
}

void Listener::Loop::begin_stop(SteadyClock::time_point now) {
    stopping_ = true;
    stop_deadline_ = now + l_.options_.drain_timeout;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l_.listen_fd_, nullptr);
    l_.close_listening_socket();
    sweep(now); // idle connections close now
    reap();
}

bool Listener::Loop::run() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    done_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || done_fd_ < 0 || l_.listen_fd_ < 0 || l_.stop_fd_ < 0)
        return false;
    if (!watch(l_.listen_fd_, EPOLLIN, true) || !watch(l_.stop_fd_, EPOLLIN, true) ||
        !watch(done_fd_, EPOLLIN, true)) {
        return false;
    }
    // Deadlines are checked this often (finer when the read timeout is short, as in tests).
    const auto sweep_interval =
        std::clamp<SteadyClock::duration>(l_.options_.read_timeout / 4, 10ms, 1s);
    std::array<epoll_event, 128> events{};
    auto now = SteadyClock::now();
    auto next_sweep = now + sweep_interval;
    if (l_.stop_requested_.load())
        begin_stop(now);
    for (;;) {
        if (stopping_) {
            if (connections_.empty())
                break;
            // Requests in flight on the pool finish; nothing else may hold up the exit.
            if (now >= stop_deadline_ + l_.options_.write_timeout)
                break;
        }
        auto wake = pending_.empty() ? next_sweep : now;
        if (!accepting_ && !stopping_)
            wake = std::min(wake, accept_resume_);
        const int ready = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                                       millis_until(wake, now));
        if (ready < 0 && errno != EINTR)
            return false;
        now = SteadyClock::now();
        for (int i = 0; i < ready; ++i) {
            const epoll_event& event = events[static_cast<std::size_t>(i)];
            const int fd = event.data.fd;
            if (fd == l_.stop_fd_) {
                if (!stopping_)
                    begin_stop(now);
            } else if (fd == done_fd_) {
                take_completions(now);
            } else if (fd == l_.listen_fd_) {
                if (!stopping_)
                    accept_all(now);
            } else if (const auto it = connections_.find(fd); it != connections_.end()) {
                on_event(*it->second, event.events, now);
            }
            reap();
        }
        std::vector<std::pair<int, std::uint64_t>> pending;
        pending.swap(pending_);
        for (const auto& [fd, id] : pending) {
            const auto it = connections_.find(fd);
            if (it != connections_.end() && it->second->id == id &&
                it->second->state == Connection::State::head) {
                advance(*it->second, now);
            }
        }
        reap();
        if (!accepting_ && !stopping_ && now >= accept_resume_)
            accepting_ = watch(l_.listen_fd_, EPOLLIN, false);
        if (now >= next_sweep) {
            sweep(now);
            reap();
            next_sweep = now + sweep_interval;
        }
    }
    // Whatever is left (a pool handler past every deadline) is cut off; the pool is joined
    // by run() before the connections' answers could be lost silently.
    std::vector<int> open;
    for (const auto& entry : connections_)
        open.push_back(entry.first);
    for (const int fd : open)
        close(*connections_[fd]);
    reap();
    return true;
}

bool Listener::run() {
    bool ok = false;
    {
        Loop loop(*this);
        ok = loop.run();
        close_listening_socket();
        // A task still queued or running writes into the loop's completion list: finish
        // them before the loop's state goes away.
        waiting_pool_->shutdown();
        pool_->shutdown();
    }
    return ok;
}

} // namespace keygate::http
