#pragma once
// keygate's HTTP server: the front end (http::Listener) serving the endpoints (HttpApi).
#include "core/result.hpp"
#include "http/listener.hpp"
#include "server/http_api.hpp"

#include <string>

namespace keygate {

/// Connection handling and request limits of the server.
struct ServerOptions {
    http::ListenerOptions listener;
    HttpApiLimits limits; ///< its max_body_bytes also caps what the listener reads
    /// The endpoints this server answers (KEYGATE_ADMIN_LISTEN splits them over two).
    ListenerRole role = ListenerRole::all;
};

/// Binds, serves until stop(), then drains. bind() and run() are called by one thread;
/// stop() from any thread.
class KeygateServer {
  public:
    KeygateServer(const ServerOptions& options, HttpApiDeps deps);

    /// Binds `host`:`port` (0: any free port) and returns the bound port.
    Result<int> bind(const std::string& host, int port) { return listener_.bind(host, port); }
    /// Listens on a unix socket at `path` instead (mode 0660, removed on exit).
    Result<void> bind_unix(const std::string& path) { return listener_.bind_unix(path); }
    /// Serves until stop(); finishes requests in flight before returning. False when
    /// accepting failed.
    bool run() { return listener_.run(); }
    /// Stops accepting and winds down. Thread-safe, idempotent.
    void stop() { listener_.stop(); }
    /// The endpoints, for the other front end (gRPC) that decides through them.
    HttpApi& api() { return api_; }
    /// The listener, for its counters.
    const http::Listener& listener() const { return listener_; }

  private:
    static http::ListenerOptions listener_options(const ServerOptions& options);

    // The endpoints outlive the listener: its destructor joins pool threads that may still
    // be inside a handler.
    HttpApi api_;
    http::Listener listener_;
};

} // namespace keygate
