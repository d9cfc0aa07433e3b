// grpc_check_load: a closed-loop load client for keygate's gRPC ext_authz (bench/README.md,
// `grpc` mode). One channel (one HTTP/2 connection, kept alive), `--concurrency` Check calls
// always in flight for `--seconds` (or until `--requests` calls are answered), each the
// CheckRequest Envoy's HTTP ext_authz filter sends for one request of an allowed key. Prints one
// JSON object: requests, errors, latency percentiles in microseconds and the count per gRPC status.
//
// One thread drives every call through the asynchronous CompletionQueue API: a call that
// completes is recorded and replaced at once, like wrk's event loop with its connections, so
// the client costs no thread switches and its own scheduling adds nothing to the latency
// beyond the time to take a completion off the queue (the client runs on its own core).
//
// Usage: grpc_check_load --target HOST:PORT|unix:PATH --key-file FILE [--concurrency 16]
//        [--seconds 10] [--requests N] [--path /v1/datasets/orders/rows?limit=10] [--method GET]
//        [--host api.example.com] [--source 127.0.0.1] [--expect-code 0]
// The key is read from FILE (first line), never from the command line, and never printed.
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <grpcpp/grpcpp.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using Clock = std::chrono::steady_clock;

/// The command line.
struct Options {
    std::string target;
    std::string key_file;
    int concurrency = 16;
    double seconds = 10;
    std::uint64_t requests = 0; ///< when > 0: stop after this many calls, whatever the time
    std::string method = "GET";
    std::string path = "/v1/datasets/orders/rows?limit=10";
    std::string host = "api.example.com";
    std::string source = "127.0.0.1";
    int expect_code = 0; ///< the google.rpc.Code a CheckResponse must carry to count as no error
};

std::optional<Options> parse_options(int argc, char** argv) {
    Options out;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "grpc_check_load: %s needs a value\n", argv[i]);
            return std::nullopt;
        }
        const std::string value = argv[++i];
        if (flag == "--target")
            out.target = value;
        else if (flag == "--key-file")
            out.key_file = value;
        else if (flag == "--concurrency")
            out.concurrency = std::atoi(value.c_str());
        else if (flag == "--seconds")
            out.seconds = std::atof(value.c_str());
        else if (flag == "--requests")
            out.requests = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--method")
            out.method = value;
        else if (flag == "--path")
            out.path = value;
        else if (flag == "--host")
            out.host = value;
        else if (flag == "--source")
            out.source = value;
        else if (flag == "--expect-code")
            out.expect_code = std::atoi(value.c_str());
        else {
            std::fprintf(stderr, "grpc_check_load: unknown option %s\n", argv[i - 1]);
            return std::nullopt;
        }
    }
    if (out.target.empty() || out.key_file.empty() || out.concurrency < 1 || out.seconds <= 0) {
        std::fprintf(
            stderr,
            "usage: grpc_check_load --target HOST:PORT|unix:PATH --key-file FILE "
            "[--concurrency N] [--seconds S] [--requests N] [--path P] [--method M] [--host H] "
            "[--source IP] [--expect-code C]\n");
        return std::nullopt;
    }
    return out;
}

std::optional<std::string> read_key(const std::string& path) {
    std::ifstream in(path);
    std::string key;
    if (!in || !std::getline(in, key) || key.empty())
        return std::nullopt;
    while (!key.empty() && (key.back() == '\r' || key.back() == ' '))
        key.pop_back();
    return key;
}

/// A field of a message that keygate's .proto subset leaves out, added as Envoy sends it so
/// that the server parses (and skips) the same bytes: length-delimited text.
void add_unknown_text(google::protobuf::Message& message, int number, const std::string& text) {
    message.GetReflection()->MutableUnknownFields(&message)->AddLengthDelimited(number, text);
}

void add_unknown_varint(google::protobuf::Message& message, int number, std::uint64_t value) {
    message.GetReflection()->MutableUnknownFields(&message)->AddVarint(number, value);
}

/// The CheckRequest of Envoy's HTTP ext_authz filter (v3, no body, headers merged into the
/// `headers` map) for one request of `options.method` `options.path` with the key in
/// x-api-key, from `options.source`.
CheckRequest envoy_check_request(const Options& options, const std::string& key) {
    CheckRequest request;
    auto& attributes = *request.mutable_attributes();
    auto& source = *attributes.mutable_source()->mutable_address()->mutable_socket_address();
    source.set_address(options.source);
    source.set_port_value(40000);
    auto& http = *attributes.mutable_request()->mutable_http();
    http.set_method(options.method);
    http.set_path(options.path);
    auto& headers = *http.mutable_headers();
    headers[":authority"] = options.host;
    headers[":method"] = options.method;
    headers[":path"] = options.path;
    headers[":scheme"] = "http";
    headers["accept"] = "application/json";
    headers["user-agent"] = "bi-tool/3.2 (grpc_check_load)";
    headers["x-api-key"] = key;
    headers["x-forwarded-for"] = options.source;
    headers["x-forwarded-proto"] = "http";
    headers["x-request-id"] = "6f1c9a2e-3b7d-4c58-9e0a-1d2f3a4b5c6d";
    // What Envoy also fills in and keygate's subset does not declare (Envoy's field numbers):
    // HttpRequest id 1, host 5, scheme 6, size 9 (-1: no body), protocol 10; the
    // destination peer (AttributeContext 2) with its socket address.
    add_unknown_text(http, 1, "12659411478271284562");
    add_unknown_text(http, 5, options.host);
    add_unknown_text(http, 6, "http");
    add_unknown_varint(http, 9, static_cast<std::uint64_t>(-1));
    add_unknown_text(http, 10, "HTTP/1.1");
    envoy::config::core::v3::Address destination;
    destination.mutable_socket_address()->set_address("10.0.0.7");
    destination.mutable_socket_address()->set_port_value(8080);
    envoy::service::auth::v3::AttributeContext::Peer peer;
    *peer.mutable_address() = destination;
    add_unknown_text(attributes, 2, peer.SerializeAsString());
    return request;
}

/// One call slot: a Check in flight, replaced by the next when it completes.
struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientAsyncResponseReader<CheckResponse>> reader;
    CheckResponse response;
    grpc::Status status;
    Clock::time_point started;
};

const char* status_name(grpc::StatusCode code) {
    switch (code) {
    case grpc::StatusCode::OK:
        return "OK";
    case grpc::StatusCode::CANCELLED:
        return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
        return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
        return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
        return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
        return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
        return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
        return "UNAUTHENTICATED";
    default:
        return "OTHER";
    }
}

/// The sample at quantile `q` of sorted `samples` (nearest rank).
std::uint64_t percentile(const std::vector<std::uint32_t>& samples, double q) {
    if (samples.empty())
        return 0;
    auto rank = static_cast<std::size_t>(q * static_cast<double>(samples.size()));
    return samples[std::min(rank, samples.size() - 1)];
}

void print_counts(const char* name, const std::map<std::string, std::uint64_t>& counts) {
    std::printf("  \"%s\": {", name);
    bool first = true;
    for (const auto& [key, count] : counts) {
        std::printf("%s\"%s\": %llu", first ? "" : ", ", key.c_str(),
                    static_cast<unsigned long long>(count));
        first = false;
    }
    std::printf("}");
}

} // namespace

int main(int argc, char** argv) {
    const std::optional<Options> options = parse_options(argc, argv);
    if (!options)
        return 2;
    const std::optional<std::string> key = read_key(options->key_file);
    if (!key) {
        std::fprintf(stderr, "grpc_check_load: no key in %s\n", options->key_file.c_str());
        return 2;
    }
    const CheckRequest request = envoy_check_request(*options, *key);

    // One channel, one HTTP/2 connection for the whole run; keep-alive pings keep it open
    // across an idle moment (there is none under load, but the channel is Envoy-like).
    grpc::ChannelArguments channel_args;
    channel_args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
    channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    const auto channel = grpc::CreateCustomChannel(
        options->target, grpc::InsecureChannelCredentials(), channel_args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        std::fprintf(stderr, "grpc_check_load: cannot connect to %s\n", options->target.c_str());
        return 1;
    }
    const auto stub = Authorization::NewStub(channel);
    grpc::CompletionQueue queue;

    std::vector<Call> calls(static_cast<std::size_t>(options->concurrency));
    const auto start_call = [&](std::size_t slot) {
        Call& call = calls[slot];
        call.context = std::make_unique<grpc::ClientContext>();
        call.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        call.response.Clear();
        call.started = Clock::now();
        call.reader = stub->PrepareAsyncCheck(call.context.get(), request, &queue);
        call.reader->StartCall();
        call.reader->Finish(&call.response, &call.status, reinterpret_cast<void*>(slot));
    };

    std::vector<std::uint32_t> latencies_us;
    latencies_us.reserve(static_cast<std::size_t>(options->seconds * 200'000));
    std::map<std::string, std::uint64_t> grpc_statuses;
    std::map<std::string, std::uint64_t> decisions; // google.rpc.Code of the CheckResponse
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;

    const Clock::time_point begin = Clock::now();
    const Clock::time_point end = begin + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(options->seconds));
    // With --requests, exactly that many calls are started (a fixed amount of work for an
    // instruction count under callgrind); the time limit still applies.
    std::uint64_t started = 0;
    const auto more_calls = [&](Clock::time_point now) {
        return now < end && (options->requests == 0 || started < options->requests);
    };
    std::size_t in_flight = 0;
    for (std::size_t slot = 0; slot < calls.size() && more_calls(Clock::now()); ++slot) {
        start_call(slot);
        ++started;
        ++in_flight;
    }
    void* tag = nullptr;
    bool ok = false;
    while (in_flight > 0 && queue.Next(&tag, &ok)) {
        const Clock::time_point now = Clock::now();
        const auto slot = reinterpret_cast<std::size_t>(tag);
        Call& call = calls[slot];
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(now - call.started);
        latencies_us.push_back(static_cast<std::uint32_t>(micros.count()));
        ++requests;
        ++grpc_statuses[status_name(call.status.error_code())];
        if (!ok || !call.status.ok()) {
            ++errors;
        } else {
            const int code = call.response.status().code();
            ++decisions[std::to_string(code)];
            if (code != options->expect_code)
                ++errors;
        }
        if (more_calls(now)) {
            start_call(slot);
            ++started;
        } else
            --in_flight; // the calls in flight when the time is up still count, like the rest
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }

    std::sort(latencies_us.begin(), latencies_us.end());
    std::printf("{\n  \"target\": \"%s\",\n  \"concurrency\": %d,\n  \"seconds\": %.3f,\n",
                options->target.c_str(), options->concurrency, elapsed);
    std::printf("  \"requests\": %llu,\n  \"errors\": %llu,\n  \"rps\": %.1f,\n",
                static_cast<unsigned long long>(requests), static_cast<unsigned long long>(errors),
                elapsed > 0 ? static_cast<double>(requests) / elapsed : 0.0);
    std::printf("  \"latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, \"max\": %llu},\n",
                static_cast<unsigned long long>(percentile(latencies_us, 0.50)),
                static_cast<unsigned long long>(percentile(latencies_us, 0.90)),
                static_cast<unsigned long long>(percentile(latencies_us, 0.99)),
                static_cast<unsigned long long>(latencies_us.empty() ? 0 : latencies_us.back()));
    print_counts("grpc_status", grpc_statuses);
    std::printf(",\n");
    print_counts("check_status_code", decisions);
    std::printf("\n}\n");
    return 0;
}
