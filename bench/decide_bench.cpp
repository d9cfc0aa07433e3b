// decide() and the socket-free /auth/nginx request path over a 10k-key store built in memory.
// Reports decisions per second as the `items_per_second` counter. The keys are generated
// ("pk_bench_<index>_...") and exist only in this process.
#include "core/config_loader.hpp"
#include "core/decide.hpp"
#include "core/digest.hpp"
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "server/auth_response.hpp"
#include "server/request_mapping.hpp"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int k_key_count = 10'000;

std::string bench_key(int index) {
    char text[64];
    std::snprintf(text, sizeof text, "pk_bench_%06dBENCHxxxxxxxxxxxxxxxxxxxxxx", index);
    return text;
}

// An unknown key of the same shape and length as the real ones.
std::string unknown_key(int index) {
    char text[64];
    std::snprintf(text, sizeof text, "pk_bench_%06dNOTINSTORExxxxxxxxxxxxxxxxx", index);
    return text;
}

struct Fixture {
    std::shared_ptr<const keygate::KeyStore> store;
    std::vector<std::string> keys;
};

// Every key hashed, with a tenant, datasets, a deny list and permissions: the lookups and
// checks a real file exercises.
const Fixture& fixture() {
    static const Fixture built = [] {
        std::string yaml = "version: 1\ntenants:\n  acme_corp: {allowed_datasets: [orders, "
                           "customers]}\napi_keys:\n";
        Fixture f;
        for (int i = 0; i < k_key_count; ++i) {
            f.keys.push_back(bench_key(i));
            yaml += "  - key_hash: \"" +
                    keygate::format_secret(
                        {keygate::HashKind::sha256, keygate::sha256(f.keys.back())}) +
                    "\"\n    id: bench-" + std::to_string(i) +
                    "\n    tenant: acme_corp\n    role: analyst\n"
                    "    allowed_datasets: [orders, \"cust*\"]\n"
                    "    denied_datasets: [orders_raw]\n    permissions: [read]\n";
        }
        keygate::LoadOptions options;
        options.now = keygate::now_ms();
        auto loaded = keygate::load_config_text(yaml, options);
        if (!loaded.config) {
            std::fprintf(stderr, "decide_bench: the generated key file does not load\n");
            std::abort();
        }
        f.store = keygate::KeyStore::build(std::move(*loaded.config));
        return f;
    }();
    return built;
}

keygate::AuthRequest request_for(std::string key) {
    keygate::AuthRequest request;
    request.key = std::move(key);
    request.method = "GET";
    request.path = "/v1/datasets/orders/rows";
    request.segments = {"v1", "datasets", "orders", "rows"};
    request.client_ip = *keygate::parse_ip("127.0.0.1");
    return request;
}

// Allowed requests for `distinct` different keys of the store, in turn (a power of two).
void decide_allowed(benchmark::State& state, std::size_t distinct) {
    const Fixture& f = fixture();
    std::vector<keygate::AuthRequest> requests;
    for (std::size_t i = 0; i < distinct; ++i)
        requests.push_back(request_for(f.keys[(i * 7919) % k_key_count]));
    const auto now = keygate::now_ms();
    std::size_t i = 0;
    for (auto _ : state) {
        auto decision = keygate::decide(*f.store, requests[i++ & (distinct - 1)], now);
        benchmark::DoNotOptimize(decision);
    }
    state.SetItemsProcessed(state.iterations());
}

// 1024 different keys in turn: each decision touches a key whose entry is likely out of
// the CPU caches (the worst case).
void BM_decide_allowed(benchmark::State& state) {
    decide_allowed(state, 1024);
}
BENCHMARK(BM_decide_allowed);

// 16 keys in turn: a deployment where a few BI tools send most requests (entries cached).
void BM_decide_allowed_16_keys(benchmark::State& state) {
    decide_allowed(state, 16);
}
BENCHMARK(BM_decide_allowed_16_keys);

void BM_decide_unknown(benchmark::State& state) {
    const Fixture& f = fixture();
    std::vector<keygate::AuthRequest> requests;
    for (int i = 0; i < 1024; ++i)
        requests.push_back(request_for(unknown_key(i)));
    const auto now = keygate::now_ms();
    std::size_t i = 0;
    for (auto _ : state) {
        auto decision = keygate::decide(*f.store, requests[i++ & 1023], now);
        benchmark::DoNotOptimize(decision);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decide_unknown);

void BM_sha256(benchmark::State& state) {
    const std::string key = bench_key(42);
    for (auto _ : state) {
        auto digest = keygate::sha256(key);
        benchmark::DoNotOptimize(digest);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_sha256);

// What /auth/nginx does per request between the parser and the socket: gather the headers,
// map the request, decide, write the answer.
void BM_request_path_nginx(benchmark::State& state) {
    const Fixture& f = fixture();
    std::vector<keygate::http::Request> requests(64);
    for (int i = 0; i < 64; ++i) {
        auto& r = requests[static_cast<std::size_t>(i)];
        r.add_header("Host", "keygate");
        r.add_header("X-Original-URI", "/v1/datasets/orders/rows?limit=10");
        r.add_header("X-Original-Method", "GET");
        r.add_header("X-Real-IP", "10.1.2.3");
        r.add_header("X-Forwarded-For", "10.1.2.3");
        r.add_header("X-API-Key", f.keys[(i * 7919) % k_key_count]);
        r.add_header("User-Agent", "wrk");
    }
    const auto peer = *keygate::parse_ip("127.0.0.1");
    const auto& settings = f.store->config().settings;
    const std::string key_header = settings.header;
    const auto now = keygate::now_ms();
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& headers = requests[i++ & 63];
        const auto gathered = keygate::gather_request_headers(headers.fields(), key_header);
        const auto target =
            keygate::original_from_headers(gathered, keygate::TargetSource::original);
        const auto request = keygate::map_auth_request(gathered, target, peer, settings, {});
        const auto decision = keygate::decide(*f.store, request, now);
        keygate::http::Response res;
        keygate::write_decision(res, decision, nullptr, key_header, keygate::StatusStyle::nginx);
        benchmark::DoNotOptimize(res);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_request_path_nginx);

} // namespace

BENCHMARK_MAIN();
