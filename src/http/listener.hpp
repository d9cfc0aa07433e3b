#pragma once
// keygate's HTTP/1.1 front end. One event-loop thread owns every connection: it accepts,
// reads each request's head (one strict parse, head_parser.hpp) and its body whole
// (request_framing.hpp), and only then runs a handler — on the loop itself for the
// requests the caller marks (decisions: microseconds, no thread switch), on a small pool
// for the rest. No thread ever waits on a client's socket: a slow client costs a few
// hundred bytes of buffer, not a worker. Responses are written by the loop, as one send
// when the socket takes it. See docs/design.md for the way of a request.
//
// Handlers get keygate's own Request and Response (message.hpp); cpp-httplib reads or
// writes nothing here. This layer knows nothing of keys.
#include "core/result.hpp"
#include "http/connection_context.hpp"
#include "http/message.hpp"
#include "http/task_queue.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace keygate::http {

/// Sizing, timeouts and caps of a listener.
struct ListenerOptions {
    /// Threads for the handlers that do not run on the loop (admin, metrics, audit posts).
    TaskQueueLimits threads{2, 16, std::chrono::milliseconds(30'000)};
    int backlog = 1024;
    /// Longer than the idle timeout of a proxy's upstream keep-alive (nginx 60 s), so that
    /// the proxy, not keygate, closes idle connections and never sends on a closing one.
    std::chrono::seconds keep_alive_timeout{75};
    std::size_t keep_alive_max_requests = 1'000'000;
    /// A request's head must be whole this long after its first byte (and a new
    /// connection's first request must start within it), its body within as long again
    /// after the head: else the connection is closed (KEYGATE_READ_TIMEOUT).
    std::chrono::milliseconds read_timeout{5'000};
    /// A response the client does not take within this long closes the connection.
    std::chrono::milliseconds write_timeout{5'000};
    /// After stop(): how long a request still arriving may take to arrive whole.
    std::chrono::milliseconds drain_timeout{2'000};
    std::size_t max_body_bytes = 1024 * 1024; ///< a larger body: 413
};

/// What the listener has done so far (for metrics, tests and benchmarks).
struct ListenerCounters {
    std::size_t connections = 0;     ///< open now
    std::uint64_t accepted = 0;      ///< connections accepted
    std::uint64_t requests = 0;      ///< responses written
    std::uint64_t on_pool = 0;       ///< of `requests`, answered by a pool thread
    std::uint64_t refused = 0;       ///< requests refused before a handler could read them
    std::uint64_t timed_out = 0;     ///< connections closed for a read or write timeout
    std::uint64_t accept_errors = 0; ///< accept() failures but EAGAIN/EINTR (EMFILE, ENFILE...)
};

/// A request the front end refused before any handler could read it, or a connection it
/// closed because the client was too slow: for the debug log.
struct Rejection {
    std::string_view peer;   ///< the peer's address ("127.0.0.1" on a unix socket)
    int status = 0;          ///< the status answered; 0: closed without an answer
    std::string_view reason; ///< "obs-fold line", "read timeout: head not complete", ...
};

/// The request handlers. Both must be thread-safe and must not throw.
struct Handlers {
    /// True when the request is answered on the event loop (it must be quick and never
    /// block); false: on a pool thread.
    std::function<bool(const Request&)> on_loop;
    /// For a request not answered on the loop: true when its handler may wait on a shared
    /// resource (a decision while the audit queue is full). It then runs on the waiting
    /// pool, so that the requests of the main pool never queue behind it. May be unset.
    std::function<bool(const Request&)> may_wait;
    /// Answers a request (current_connection() is set while it runs). Also called for a
    /// request the front end refused (ConnectionContext::refusal_status), to write the
    /// error the caller's way; the request then holds what could be read of it.
    std::function<void(const Request&, Response&)> answer;
    /// Told of each Rejection, on the loop thread (quick, never blocking). May be unset.
    std::function<void(const Rejection&)> rejected;
};

/// The listener. bind() or bind_unix(), then run() on one thread; stop() from any thread.
class Listener {
  public:
    explicit Listener(ListenerOptions options);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// Sets the handlers; before run().
    void set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }
    /// Binds `host`:`port` (0: any free port) and listens. Returns the bound port.
    Result<int> bind(const std::string& host, int port);
    /// Listens on a unix socket at `path` (mode 0660; a stale socket file is replaced; the
    /// file is removed when the listener closes).
    Result<void> bind_unix(const std::string& path);

    /// Serves until stop(); then answers what has arrived, lets requests in flight finish
    /// (and requests still arriving for up to drain_timeout), closes every connection and
    /// returns. False when the loop could not start.
    bool run();
    /// Stops accepting (the listening socket is closed at once) and winds down. Thread-safe,
    /// idempotent.
    void stop();

    /// What the listener has done so far.
    ListenerCounters counters() const;
    /// The handler pool.
    const ElasticTaskQueue& pool() const { return *pool_; }

  private:
    struct Connection;
    class Loop;
    friend class Loop;

    void close_listening_socket();

    ListenerOptions options_;
    Handlers handlers_;
    std::unique_ptr<ElasticTaskQueue> pool_;
    /// Handlers that may wait (Handlers::may_wait); no thread while none does.
    std::unique_ptr<ElasticTaskQueue> waiting_pool_;
    int listen_fd_ = -1;
    std::string unix_path_; ///< non-empty: remove this socket file on close
    int stop_fd_ = -1;
    std::mutex close_mutex_;
    std::atomic<bool> stop_requested_{false};

    std::atomic<std::size_t> connections_{0};
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> on_pool_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::uint64_t> timed_out_{0};
    std::atomic<std::uint64_t> accept_errors_{0};
};

} // namespace keygate::http
