// The gRPC services and their server.
#include "grpc/grpc_server.hpp"

#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "grpc/check_mapping.hpp"
#include "grpc/health/v1/health.grpc.pb.h"

#include <grpcpp/grpcpp.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace keygate {
namespace {

constexpr std::string_view k_authorization_service = "envoy.service.auth.v3.Authorization";

/// envoy.service.auth.v3.Authorization: one Check, one decision.
class AuthorizationService final : public envoy::service::auth::v3::Authorization::Service {
  public:
    explicit AuthorizationService(HttpApi& api) : api_(api) {}

    grpc::Status Check(grpc::ServerContext* /*context*/,
                       const envoy::service::auth::v3::CheckRequest* request,
                       envoy::service::auth::v3::CheckResponse* response) override {
        try {
            const CheckQuestion question = read_check_request(*request);
            http::Response answer;
            const AuthSummary summary = api_.answer_question(question.question(), answer);
            if (!summary.decided) {
                // No key set yet (or an internal error): no decision at all. Envoy applies
                // failure_mode_allow (false: it denies) as for any failed call.
                return {grpc::StatusCode::UNAVAILABLE, "no decision: no key set is loaded"};
            }
            write_check_response(answer, summary, question, *response);
            return grpc::Status::OK;
        } catch (...) {
            // Never the exception's text: it may quote the request.
            return {grpc::StatusCode::INTERNAL, "internal error"};
        }
    }

  private:
    HttpApi& api_;
};

/// grpc.health.v1.Health: SERVING while `serving` says so, for the server ("") and for the
/// authorization service by name.
class HealthService final : public grpc::health::v1::Health::Service {
  public:
    explicit HealthService(std::function<bool()> serving) : serving_(std::move(serving)) {}

    grpc::Status Check(grpc::ServerContext* /*context*/,
                       const grpc::health::v1::HealthCheckRequest* request,
                       grpc::health::v1::HealthCheckResponse* response) override {
        const std::string& service = request->service();
        if (!service.empty() && service != k_authorization_service && service != "grpc.health.v1.Health")
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
        : authorization(api), health(std::move(serving)) {}

    AuthorizationService authorization;
    HealthService health;
    std::unique_ptr<grpc::Server> server;
    std::mutex mutex; ///< guards `server` across start() and shutdown()
};

GrpcServer::GrpcServer(HttpApi& api, std::function<bool()> serving)
    : impl_(std::make_unique<Impl>(api, std::move(serving))) {}

GrpcServer::~GrpcServer() { shutdown(std::chrono::milliseconds(0)); }

Result<int> GrpcServer::start(const std::string& address) {
    const std::lock_guard lock(impl_->mutex);
    if (impl_->server)
        return fail("the gRPC server is already started");
    const bool unix_socket = address.starts_with("unix:");
    std::string path = unix_socket ? address.substr(5) : std::string{};
    if (path.starts_with("//"))
        path = path.substr(2); // unix:///abs/path
    // A socket left by a process that died is in the way of bind(); nothing else is removed.
    struct stat info {};
    if (unix_socket && ::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode))
        ::unlink(path.c_str());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&impl_->authorization);
    builder.RegisterService(&impl_->health);
    // Envoy sends headers, not bodies (with_request_body off); 1 MiB is the HTTP body limit.
    builder.SetMaxReceiveMessageSize(2 * 1024 * 1024);
    impl_->server = builder.BuildAndStart();
    if (!impl_->server || (!unix_socket && port == 0))
        return fail("cannot serve gRPC on " + address);
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
    impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
    impl_->server->Wait();
    impl_->server.reset();
}

} // namespace keygate
