#pragma once
// keygate's gRPC listener (KEYGATE_GRPC_LISTEN, CONTRACT §6): Envoy's external authorization
// (envoy.service.auth.v3.Authorization/Check) and grpc.health.v1.Health/Check on one port.
// Check runs on its own completion-queue threads (grpc/check_workers.*), health on gRPC's
// synchronous pool, never on the HTTP front end's event loop; Check decides through
// HttpApi::answer_question(), the path of /auth/envoy.
#include "core/result.hpp"
#include "server/http_api.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace keygate {

/// Starts once, serves until shutdown(). start() and shutdown() from one thread at a time;
/// the services themselves are thread-safe.
class GrpcServer {
  public:
    /// `api` decides every Check; `serving` says what the health service answers (SERVING
    /// when true). Both must outlive the server.
    GrpcServer(HttpApi& api, std::function<bool()> serving);
    ~GrpcServer();
    GrpcServer(const GrpcServer&) = delete;
    GrpcServer& operator=(const GrpcServer&) = delete;

    /// Binds `address` ("host:port", "[v6]:port", or "unix:/path", mode 0660 like the HTTP
    /// listener's socket) and starts serving. Returns the bound port (0 for a Unix socket).
    Result<int> start(const std::string& address);

    /// Stops accepting calls, lets the calls in flight finish (cancelling those still
    /// running after `grace`), and joins the threads. Idempotent.
    void shutdown(std::chrono::milliseconds grace);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace keygate
