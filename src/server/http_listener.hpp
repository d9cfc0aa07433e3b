#pragma once
// One HTTP listener on cpp-httplib 0.11.4, with the library's traps fixed. The packaged
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
//   pseudo-headers (the client's and the library's) are removed before routing.
#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "server/connection_stream.hpp"
#include "server/task_queue.hpp"

#include <atomic>
#include <chrono>
#include <httplib.h>
#include <memory>
#include <mutex>
#include <string>

namespace keygate {

/// Facts of the connection a request came on, for the handlers running on its thread.
struct ConnectionContext {
    IpAddress peer;                              ///< the TCP peer, from getpeername()
    bool last_request = false;                   ///< the listener closes after this one and says so
    bool close_after_response = false;           ///< a handler asks to close after this response
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

    /// Accepts connections until stop(); then finishes the requests in flight, closes idle
    /// connections and returns. False when accepting failed.
    bool run();

    /// Stops accepting and wakes idle connections. Thread-safe, idempotent.
    void stop();

    /// The connection pool (valid for the listener's life).
    const ElasticTaskQueue& pool() const { return *pool_; }

  private:
    bool process_and_close_socket(socket_t sock) override;

    ListenerOptions options_;
    std::unique_ptr<ElasticTaskQueue> pool_;
    int stop_fd_ = -1;
    std::mutex stop_mutex_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> run_started_{false};
    std::atomic<bool> run_finished_{false};
};

} // namespace keygate
