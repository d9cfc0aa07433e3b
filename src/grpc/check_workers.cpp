// Check calls on completion-queue threads.
#include "grpc/check_workers.hpp"

#include "grpc/check_call.hpp"

#include <algorithm>
#include <cstddef>
#include <google/protobuf/arena.h>
#include <sched.h>

namespace keygate {

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

/// One call slot: waits for a Check, answers it, then waits for the next. Its request and
/// response live on an arena whose first block is the slot's own: a call's messages (the
/// parsed headers, the response's header options) cost no malloc() unless they outgrow it,
/// and the arena is reset, not freed, for the next call.
struct CheckWorkers::Call {
    static constexpr std::size_t k_arena_block = 16 * 1024;

    Call() : arena(arena_options(block)) {}

    static google::protobuf::ArenaOptions arena_options(char* initial) {
        google::protobuf::ArenaOptions options;
        options.initial_block = initial;
        options.initial_block_size = k_arena_block;
        return options;
    }

    alignas(std::max_align_t) char block[k_arena_block];
    google::protobuf::Arena arena;
    std::unique_ptr<grpc::ServerContext> context; ///< one per call (gRPC forbids reuse)
    std::unique_ptr<grpc::ServerAsyncResponseWriter<CheckResponse>> writer;
    CheckRequest* request = nullptr;   ///< on `arena`
    CheckResponse* response = nullptr; ///< on `arena`
    bool finishing = false;            ///< the next event is the end of Finish(), not a new call
};

struct CheckWorkers::Worker {
    std::unique_ptr<grpc::ServerCompletionQueue> queue;
    std::vector<std::unique_ptr<Call>> calls;
    std::thread thread;
};

CheckWorkers::CheckWorkers(HttpApi& api, int threads, int calls_per_thread)
    : api_(api), calls_per_thread_(std::max(1, calls_per_thread)) {
    for (int i = 0; i < std::max(1, threads); ++i)
        workers_.push_back(std::make_unique<Worker>());
}

CheckWorkers::~CheckWorkers() {
    begin_stop();
    stop();
}

void CheckWorkers::add_to(grpc::ServerBuilder& builder) {
    builder.RegisterService(&service_);
    for (auto& worker : workers_)
        worker->queue = builder.AddCompletionQueue();
}

void CheckWorkers::request(Worker& worker, Call& call) {
    call.context = std::make_unique<grpc::ServerContext>();
    call.writer =
        std::make_unique<grpc::ServerAsyncResponseWriter<CheckResponse>>(call.context.get());
    call.arena.Reset(); // the last call's messages: gone, the first block kept
    call.request = google::protobuf::Arena::CreateMessage<CheckRequest>(&call.arena);
    call.response = google::protobuf::Arena::CreateMessage<CheckResponse>(&call.arena);
    call.finishing = false;
    service_.RequestCheck(call.context.get(), call.request, call.writer.get(), worker.queue.get(),
                          worker.queue.get(), &call);
}

void CheckWorkers::start() {
    for (auto& worker : workers_) {
        for (int i = 0; i < calls_per_thread_; ++i) {
            worker->calls.push_back(std::make_unique<Call>());
            request(*worker, *worker->calls.back());
        }
        worker->thread = std::thread([this, &worker = *worker] { run(worker); });
    }
}

void CheckWorkers::run(Worker& worker) {
    void* tag = nullptr;
    bool ok = false;
    // Next() returns false once the queue is shut down and every event taken off it.
    while (worker.queue->Next(&tag, &ok)) {
        Call& call = *static_cast<Call*>(tag);
        if (!call.finishing) {
            if (!ok)
                continue; // the server shuts down: this slot got no call and gets none
            const grpc::Status status = answer_check(api_, *call.request, *call.response);
            call.finishing = true;
            call.writer->Finish(*call.response, status, &call);
        } else if (!stopping_.load(std::memory_order_acquire)) {
            request(worker, call); // sent (ok) or cancelled by the client (!ok): next call
        }
    }
}

void CheckWorkers::begin_stop() {
    stopping_.store(true, std::memory_order_release);
}

void CheckWorkers::stop() {
    for (auto& worker : workers_) {
        if (!worker->thread.joinable())
            continue;
        worker->queue->Shutdown();
        worker->thread.join();
    }
}

int CheckWorkers::default_threads() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    return std::clamp(CPU_COUNT(&set), 1, 4);
}

} // namespace keygate
