// The gRPC services and their server.
#include "grpc/grpc_server.hpp"

#include "grpc/check_workers.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "http/unix_socket.hpp"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace keygate {
namespace {

constexpr std::string_view k_authorization_service = "envoy.service.auth.v3.Authorization";

/// grpc.health.v1.Health: SERVING while `serving` says so, for the server ("") and for the
/// authorization service by name.
class HealthService final : public grpc::health::v1::Health::Service {
  public:
    explicit HealthService(std::function<bool()> serving) : serving_(std::move(serving)) {}

    grpc::Status Check(grpc::ServerContext* /*context*/,
                       const grpc::health::v1::HealthCheckRequest* request,
                       grpc::health::v1::HealthCheckResponse* response) override {
        const std::string& service = request->service();
        if (!service.empty() && service != k_authorization_service &&
            service != "grpc.health.v1.Health")
            return {grpc::StatusCode::NOT_FOUND, "unknown service"};
        response->set_status(serving_() ? grpc::health::v1::HealthCheckResponse::SERVING
                                        : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
        return grpc::Status::OK;
    }

  private:
    std::function<bool()> serving_;
};

} // namespace

struct GrpcServer::Impl {
    Impl(HttpApi& api, std::function<bool()> serving)
        : checks(api, CheckWorkers::default_threads(), k_calls_per_thread),
          health(std::move(serving)) {}

    /// Enough waiting calls for Envoy's usual number of concurrent streams on one connection.
    static constexpr int k_calls_per_thread = 64;

    CheckWorkers checks; ///< declared before `server`, which must go first
    HealthService health;
    std::unique_ptr<grpc::Server> server;
    std::mutex mutex; ///< guards `server` across start() and shutdown()
};

GrpcServer::GrpcServer(HttpApi& api, std::function<bool()> serving)
    : impl_(std::make_unique<Impl>(api, std::move(serving))) {}

GrpcServer::~GrpcServer() {
    shutdown(std::chrono::milliseconds(0));
}

Result<int> GrpcServer::start(const std::string& address) {
    // Debian's gRPC runs Abseil's mutex deadlock detection (a graph of every lock order,
    // a debugging aid) on each of the many locks of a call: off, as a release build has it.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    const std::lock_guard lock(impl_->mutex);
    if (impl_->server)
        return fail("the gRPC server is already started");
    const bool unix_socket = address.starts_with("unix:");
    std::string path = unix_socket ? address.substr(5) : std::string{};
    if (path.starts_with("//"))
        path = path.substr(2); // unix:///abs/path
    // A socket left by a process that died is in the way of bind(); a live one (another
    // keygate) or anything else at the path is an error, as for the HTTP listener.
    if (unix_socket) {
        if (auto cleared = clear_stale_unix_socket(path); !cleared)
            return fail("gRPC: " + cleared.error().message);
    }
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    impl_->checks.add_to(builder);
    builder.RegisterService(&impl_->health); // synchronous: rare calls, its own pool
    // Envoy sends headers, not bodies (with_request_body off); 1 MiB is the HTTP body limit.
    builder.SetMaxReceiveMessageSize(2 * 1024 * 1024);
    // No BDP probe: Envoy's Check streams carry small messages over a local link, and the
    // probe adds a PING and its ACK to reads under load.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    impl_->server = builder.BuildAndStart();
    if (!impl_->server || (!unix_socket && port == 0)) {
        impl_->server.reset();
        return fail("cannot serve gRPC on " + address);
    }
    impl_->checks.start();
    if (unix_socket) {
        // Like the HTTP listener's socket: the proxy's group may connect, nobody else.
        ::chmod(path.c_str(), 0660);
        return 0;
    }
    return port;
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
    const std::lock_guard lock(impl_->mutex);
    if (!impl_->server)
        return;
    impl_->checks.begin_stop();
    // The workers still finish the calls in flight while Shutdown() waits for them.
    impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
    impl_->server->Wait();
    impl_->checks.stop();
    impl_->server.reset();
}

} // namespace keygate
