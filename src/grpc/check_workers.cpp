// Check calls on completion-queue threads.
#include "grpc/check_workers.hpp"

#include "grpc/check_call.hpp"

#include <algorithm>
#include <optional>
#include <sched.h>
#include <string>

namespace keygate {

/// One call slot: waits for a Check, answers it, then waits for the next. The context and
/// the writer are made in place for each call (gRPC forbids reusing them); the question's
/// vectors and the response's buffer keep their storage from call to call.
struct CheckWorkers::Call {
    std::optional<grpc::ServerContext> context;
    std::optional<grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>> writer;
    grpc::ByteBuffer request;
    CheckQuestion question;
    std::string response;
    bool finishing = false; ///< the next event is the end of Finish(), not a new call
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
    call.writer.reset(); // before the context it refers to
    call.context.emplace();
    call.writer.emplace(&*call.context);
    call.request.Clear();
    call.finishing = false;
    service_.RequestCheck(&*call.context, &call.request, &*call.writer, worker.queue.get(),
                          worker.queue.get(), &call);
}

grpc::Status CheckWorkers::decide(Call& call) {
    // The message as one slice: as received when it is one, else copied into one.
    grpc::Slice slice;
    if (!call.request.TrySingleSlice(&slice).ok() && !call.request.DumpToSingleSlice(&slice).ok())
        return {grpc::StatusCode::INTERNAL, "cannot read the request"};
    const std::string_view bytes(reinterpret_cast<const char*>(slice.begin()), slice.size());
    return answer_check(api_, bytes, call.question, call.response);
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
            call.finishing = true;
            call.response.clear();
            const grpc::Status status = decide(call);
            grpc::Slice bytes(call.response.data(), call.response.size()); // a copy
            call.writer->Finish(grpc::ByteBuffer(&bytes, 1), status, &call);
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
