#pragma once
// The threads that answer Authorization/Check (grpc_server.*): gRPC's asynchronous API, one
// completion queue per thread, each thread taking a call off its queue, deciding it and
// finishing it itself. The synchronous server handed every call from the thread that polled
// it to another (a thread switch per call, most of the server's CPU under load; bench `grpc`).
// The method is raw: its messages arrive and leave as bytes, read and written by
// grpc/check_mapping.* (protobuf's message objects cost more than the decision itself).
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "server/http_api.hpp"

#include <atomic>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <thread>
#include <vector>

namespace keygate {

/// Lifecycle: add_to() before the server is built, start() after, then begin_stop(), the
/// server's Shutdown(), and stop(). Each step from one thread.
class CheckWorkers {
  public:
    /// `threads` threads (at least 1), each with `calls_per_thread` calls waiting for a
    /// Check (more streams than that wait in gRPC until one is answered).
    CheckWorkers(HttpApi& api, int threads, int calls_per_thread);
    ~CheckWorkers();
    CheckWorkers(const CheckWorkers&) = delete;
    CheckWorkers& operator=(const CheckWorkers&) = delete;

    /// Registers the service and a completion queue per thread with `builder`.
    void add_to(grpc::ServerBuilder& builder);

    /// Posts the waiting calls and starts the threads (the server is built and started).
    void start();

    /// From now on a finished call is not replaced: call before the server's Shutdown().
    void begin_stop();

    /// Shuts the queues down and joins the threads: call after the server's Shutdown()
    /// returned (every call in flight finished or cancelled). Idempotent.
    void stop();

    /// The number of threads for this process: the CPUs it may run on, 1 to 4.
    static int default_threads();

  private:
    struct Call;
    struct Worker;
    void request(Worker& worker, Call& call);
    grpc::Status decide(Call& call);
    void run(Worker& worker);

    HttpApi& api_;
    int calls_per_thread_;
    envoy::service::auth::v3::Authorization::WithRawMethod_Check<
        envoy::service::auth::v3::Authorization::Service>
        service_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<bool> stopping_{false};
};

} // namespace keygate
