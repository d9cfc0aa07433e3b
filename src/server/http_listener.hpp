#pragma once
// One HTTP listener on cpp-httplib 0.11.4, with the library's traps fixed, and an event loop
// for the requests that matter most: auth subrequests from a proxy. The packaged
// library is compiled, so its compile-time settings (CPPHTTPLIB_*) cannot be changed; only
// runtime setters and the protected/virtual hooks work:
// - its listen backlog is 5: bind() calls listen() again with a real backlog;
// - its pool is fixed: an ElasticTaskQueue grows on demand;
// - its connection loop keeps a connection for 5 requests, polls idle connections every
//   10 ms, waits on a client forever as long as each byte comes within the read timeout,
//   and writes each response in several packets: process_and_close_socket is replaced by
//   our own loop over a ConnectionStream, which still lets the library parse and route
//   every request (process_request);
// - it trusts a client's `REMOTE_ADDR` header as much as its own: the peer address comes
//   from getpeername() on our socket, and the REMOTE_ADDR/REMOTE_PORT/LOCAL_ADDR/LOCAL_PORT
//   pseudo-headers (the client's and the library's) are removed before routing;
// - one thread per connection costs a wake-up and two context switches per request: an
//   epoll loop accepts every connection and serves auth requests itself (a whole head, no
//   body). The simplest of them it reads and writes itself (direct_request.hpp, answered by
//   the direct handler), the others through the library's parser and router; the answers
//   are the same bytes either way (tested). A connection whose next request is anything
//   else (a body, a head still arriving, an admin or audit call, a response the socket
//   cannot take now) moves to a pool thread for the rest of its life, where the deadlines
//   and caps of StreamLimits apply.
#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "server/connection_stream.hpp"
#include "server/task_queue.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <httplib.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace keygate {

/// Facts of the connection a request came on, for the handlers running on its thread.
struct ConnectionContext {
    IpAddress peer;                              ///< the TCP peer, from getpeername()
    bool last_request = false;                   ///< the listener closes after this one and says so
    bool close_after_response = false;           ///< a handler asks to close after this response
    /// Why the strict head reader refused this request's head (HeadProblem as int; 0: none).
    /// cpp-httplib parsed it anyway; the handlers answer 400 or 431 without deciding it.
    int head_problem = 0;
    const std::atomic<bool>* stopping = nullptr; ///< the server is shutting down

    /// True once the server is shutting down.
    bool server_stopping() const { return stopping != nullptr && stopping->load(); }
};

/// The connection the calling thread is serving, or nullptr outside a request handler.
ConnectionContext* current_connection();

/// Removes what cpp-httplib parsed from a request but keygate must not use: the
/// REMOTE_ADDR/REMOTE_PORT/LOCAL_ADDR/LOCAL_PORT pseudo-headers (a client can send its own),
/// Accept-Encoding (answers are too small to compress) and Range (the library would cut an
/// answer to it). Called on every request before routing.
void strip_request_extras(httplib::Request& req);

/// Sizing, timeouts and caps of a listener.
struct ListenerOptions {
    TaskQueueLimits threads;
    int backlog = 1024;
    /// Longer than the idle timeout of a proxy's upstream keep-alive (nginx 60 s), so that
    /// the proxy, not keygate, closes idle connections and never sends on a closing one.
    std::chrono::seconds keep_alive_timeout{75};
    std::size_t keep_alive_max_requests = 1'000'000;
    StreamLimits stream;
    std::size_t max_body_bytes = 1024 * 1024;
    /// Serve auth requests on the event loop; false: every connection on a pool thread
    /// from its first byte (cpp-httplib's model), for comparison and for tests.
    bool event_loop = true;
    /// On the loop, read and write the simplest auth requests without cpp-httplib (when a
    /// direct handler is set); false: every request through the library's parser.
    bool direct_requests = true;
};

/// What the event loop has done so far (for tests and benchmarks).
struct LoopCounters {
    std::size_t connections = 0; ///< connections on the loop now
    std::uint64_t requests = 0;  ///< requests the loop answered
    std::uint64_t handoffs = 0;  ///< connections moved to a pool thread
    std::uint64_t direct = 0;    ///< of `requests`, those read and written without cpp-httplib
};

/// An httplib::Server with keygate's connection handling. Register handlers as usual, then
/// bind() and run(). stop() may be called from any thread (a signal thread), at any time.
class HttpListener : public httplib::Server {
  public:
    explicit HttpListener(ListenerOptions options);
    ~HttpListener() override;
    HttpListener(const HttpListener&) = delete;
    HttpListener& operator=(const HttpListener&) = delete;

    /// Binds `host`:`port` (0: any free port) and listens with the configured backlog.
    /// Returns the bound port.
    Result<int> bind(const std::string& host, int port);
    /// Listens on a Unix domain socket at `path` instead (listen_unix_socket(): mode 0660, a
    /// stale socket file replaced); the file is removed when the listening socket closes.
    /// A peer on it counts as 127.0.0.1 (ConnectionContext::peer).
    Result<void> bind_unix(const std::string& path);

    /// Accepts connections until stop(); then finishes the requests in flight, closes idle
    /// connections and returns. False when accepting failed.
    bool run();

    /// Stops accepting and wakes idle connections. Thread-safe, idempotent.
    void stop();

    /// The connection pool (valid for the listener's life).
    const ElasticTaskQueue& pool() const { return *pool_; }
    /// The event loop's counters.
    LoopCounters loop_counters() const;
    /// What answers a request without a body the way the registered handlers would
    /// (HttpApi::answer_without_body). With it, the event loop reads and writes the simplest
    /// auth requests itself (direct_request.hpp) instead of through cpp-httplib. Set before
    /// run().
    using DirectHandler = std::function<void(const httplib::Request&, httplib::Response&)>;
    void set_direct_handler(DirectHandler handler) { direct_handler_ = std::move(handler); }

  private:
    /// One accepted connection: its stream and what handlers learn about it.
    struct Connection {
        int fd = -1;
        ConnectionContext context;
        std::unique_ptr<ConnectionStream> stream;
        std::size_t served = 0;                           ///< requests answered so far
        std::chrono::steady_clock::time_point idle_since; ///< last activity on the loop
        bool closing = false; ///< the thread only sends what is left, then closes
    };

    /// Thread-only mode: cpp-httplib calls this for each accepted socket on a pool thread.
    bool process_and_close_socket(socket_t sock) override;
    /// A Connection for an accepted socket (TCP_NODELAY set, addresses read).
    std::shared_ptr<Connection> open_connection(int fd);
    /// Answers the request at the front of the connection's buffer. True when the
    /// connection may carry another request.
    bool serve_request(Connection& connection);
    /// On the event loop: answers the request at the front of the connection's buffer with
    /// the direct handler when parse_direct_head() takes its head. nullopt when it does not
    /// (serve_request() then lets cpp-httplib parse it); else whether the connection may
    /// carry another request.
    std::optional<bool> serve_direct(Connection& connection);
    /// A connection's life on a pool thread: sends what is pending, serves requests until
    /// the connection ends, closes it.
    void serve_on_thread(Connection& connection);
    /// Moves a connection to a pool thread.
    void hand_off(std::shared_ptr<Connection> connection);
    /// The event loop: accepts, serves auth requests, hands the rest off; returns on stop().
    bool run_event_loop();
    /// Closes the listening socket (once).
    void close_listening_socket();

    ListenerOptions options_;
    std::unique_ptr<ElasticTaskQueue> pool_;
    int stop_fd_ = -1;
    std::mutex stop_mutex_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> run_started_{false};
    std::atomic<bool> run_finished_{false};
    std::atomic<std::size_t> loop_connections_{0};
    std::atomic<std::uint64_t> loop_requests_{0};
    std::atomic<std::uint64_t> handoffs_{0};
    std::atomic<std::uint64_t> direct_requests_{0};
    DirectHandler direct_handler_;
    std::string unix_path_; ///< set by bind_unix(): the socket file to remove
};

} // namespace keygate
