#pragma once
// What a request handler may learn about, and ask of, the connection its request came on.
// The front end sets it for the thread running the handler (the event loop, or a pool
// thread), so handlers keep the plain (Request, Response) signature.
#include "core/ip_address.hpp"

#include <atomic>
#include <string>

namespace keygate::http {

/// Facts of the connection a request came on.
struct ConnectionContext {
    IpAddress peer;            ///< the peer, from getpeername() (127.0.0.1 on a unix socket)
    bool last_request = false; ///< the front end closes after this response
    bool close_after_response = false; ///< a handler asks to close after this response
    /// Non-zero: the front end refused this request before any handler could read it (a
    /// malformed head, a body it will not read): the handler answers this status with
    /// `refusal_why` and never decides the request. The connection is closed after it.
    int refusal_status = 0;
    const char* refusal_why = ""; ///< a short reason ("obs-fold line", "Request body too large")
    const std::atomic<bool>* stopping = nullptr; ///< the server is shutting down

    /// True once the server is shutting down.
    bool server_stopping() const { return stopping != nullptr && stopping->load(); }
};

/// The connection of the request the calling thread is answering, or nullptr outside a
/// handler.
ConnectionContext* current_connection();

/// Makes `context` the calling thread's current connection while it lives.
class ConnectionScope {
  public:
    explicit ConnectionScope(ConnectionContext& context);
    ~ConnectionScope();
    ConnectionScope(const ConnectionScope&) = delete;
    ConnectionScope& operator=(const ConnectionScope&) = delete;

  private:
    ConnectionContext* previous_;
};

} // namespace keygate::http
