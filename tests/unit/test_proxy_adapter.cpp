// The proxy adapters: which endpoint each serves, the one source each reads, its answer style.
#include "header_list.hpp"
#include "server/proxy_adapter.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

namespace {

/// The question `adapter` reads from a request to `target` with `fields`.
ProxyQuestion ask(const ProxyAdapter& adapter, std::string_view target,
                  const test::HeaderList& fields, std::string_view method = "GET") {
    http::Request req = test::request_with(fields);
    req.method = std::string(method);
    req.target = std::string(target);
    const RequestHeaders headers = gather_request_headers(req.fields(), "X-API-Key");
    return adapter.question(req, headers);
}

// A client's forged headers of the other kind beside the ones its proxy set.
const test::HeaderList k_both = {{"X-Original-Method", "GET"},
                                 {"X-Original-URI", "/v1/datasets/orders/rows"},
                                 {"X-Forwarded-Method", "DELETE"},
                                 {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}};

} // namespace

TEST_CASE("proxy adapters: one per endpoint, chosen by the raw target", "[proxy_adapter]") {
    CHECK(adapter_for("/auth") == &k_generic_adapter);
    CHECK(adapter_for("/auth?x=1") == &k_generic_adapter);
    CHECK(adapter_for("/auth/nginx") == &k_nginx_adapter);
    CHECK(adapter_for("/auth/forward") == &k_forward_adapter);
    CHECK(adapter_for("/auth/envoy") == &k_envoy_http_adapter);
    CHECK(adapter_for("/auth/envoy/v1/datasets/orders/rows?limit=1") == &k_envoy_http_adapter);
    CHECK(adapter_for("/auth%2Fnginx") == nullptr);
    CHECK(adapter_for("/auth/nginx/") == nullptr);
    CHECK(adapter_for("/auth/envoyx") == nullptr);
    CHECK(adapter_for("/AUTH") == nullptr);
    CHECK(adapter_for("/v1/authorize") == nullptr);
}

TEST_CASE("proxy adapters: each reads its own source only", "[proxy_adapter]") {
    const ProxyQuestion nginx = ask(k_nginx_adapter, "/auth/nginx", k_both);
    CHECK(nginx.target.method == "GET");
    CHECK(nginx.target.uri == "/v1/datasets/orders/rows");
    CHECK_FALSE(nginx.target.ambiguous);
    CHECK(nginx.endpoint == DecisionEndpoint::auth_nginx);
    CHECK(nginx.style == StatusStyle::nginx);

    const ProxyQuestion forward = ask(k_forward_adapter, "/auth/forward", k_both);
    CHECK(forward.target.method == "DELETE");
    CHECK(forward.target.uri == "/v1/datasets/customers/rows");
    CHECK(forward.endpoint == DecisionEndpoint::auth_forward);
    CHECK(forward.style == StatusStyle::standard);

    // /auth takes either kind: both present and different is ambiguous (row 0).
    const ProxyQuestion generic = ask(k_generic_adapter, "/auth", k_both);
    CHECK(generic.target.ambiguous);
    CHECK(generic.endpoint == DecisionEndpoint::auth);
    CHECK(ask(k_generic_adapter, "/auth", {{"X-Forwarded-Uri", "/v1/x"}}).target.uri == "/v1/x");

    // Envoy: the request's own target after the prefix and its own method; headers ignored.
    const ProxyQuestion envoy =
        ask(k_envoy_http_adapter, "/auth/envoy/v1/datasets/orders/rows?limit=1", k_both, "POST");
    CHECK(envoy.target.method == "POST");
    CHECK(envoy.target.uri == "/v1/datasets/orders/rows?limit=1");
    CHECK(envoy.endpoint == DecisionEndpoint::auth_envoy);
    CHECK(envoy.style == StatusStyle::standard);
    CHECK(ask(k_envoy_http_adapter, "/auth/envoy", {}).target.uri == "/");
}
