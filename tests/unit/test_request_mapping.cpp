// A request's headers -> AuthRequest: original target, client address, key, datasets.
#include "header_list.hpp"
#include "server/request_mapping.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using keygate::test::HeaderList;

namespace {

IpAddress ip(std::string_view text) {
    auto parsed = parse_ip(text);
    REQUIRE(parsed);
    return *parsed;
}

std::vector<Cidr> cidrs(std::initializer_list<std::string_view> texts) {
    std::vector<Cidr> out;
    for (auto text : texts)
        out.push_back(parse_cidr(text).value());
    return out;
}

const std::vector<Cidr> k_loopback = cidrs({"127.0.0.1/32", "::1/128"});

/// Headers and their gathered view (which points into them).
struct Gathered {
    http::Request request;
    RequestHeaders view;
    explicit Gathered(const HeaderList& h, std::string_view key_header = "X-API-Key")
        : request(test::request_with(h)),
          view(gather_request_headers(request.fields(), key_header)) {}
    Gathered(const Gathered&) = delete;
    Gathered& operator=(const Gathered&) = delete;
};

OriginalTarget target_of(HeaderList headers, TargetSource source = TargetSource::either) {
    const Gathered gathered(std::move(headers));
    return original_from_headers(gathered.view, source);
}

IpAddress client_of(const IpAddress& peer, const std::vector<Cidr>& trusted, HeaderList headers) {
    const Gathered gathered(std::move(headers));
    return resolve_client_ip(peer, trusted, gathered.view);
}

KeySelection key_of(HeaderList headers, std::string_view key_header,
                    std::optional<std::string_view> query) {
    const Gathered gathered(std::move(headers), key_header);
    return select_request_key(gathered.view, query);
}

std::optional<std::string> dataset_of(HeaderList headers) {
    const Gathered gathered(std::move(headers));
    return header_dataset(gathered.view);
}

} // namespace

TEST_CASE("original target: /auth takes X-Original-*, else X-Forwarded-*, else GET /",
          "[request_mapping]") {
    const auto nginx =
        target_of({{"X-Original-Method", "post"}, {"X-Original-URI", "/v1/query?dataset=orders"}});
    CHECK(nginx.method == "POST");
    CHECK(nginx.uri == "/v1/query?dataset=orders");
    CHECK_FALSE(nginx.ambiguous);

    const auto traefik =
        target_of({{"X-Forwarded-Method", "DELETE"}, {"X-Forwarded-Uri", "/v1/x"}});
    CHECK(traefik.method == "DELETE");
    CHECK(traefik.uri == "/v1/x");
    CHECK_FALSE(traefik.ambiguous);

    const auto none = target_of({});
    CHECK(none.method == "GET");
    CHECK(none.uri == "/");
    CHECK_FALSE(none.ambiguous);

    // Both kinds with the same value: one request, not ambiguous.
    const auto same = target_of({{"X-Original-URI", "/v1/x"}, {"X-Forwarded-Uri", "/v1/x"}});
    CHECK_FALSE(same.ambiguous);
    CHECK(same.uri == "/v1/x");
}

TEST_CASE("original target: /auth with both kinds disagreeing is ambiguous (row 0)",
          "[request_mapping]") {
    // A client behind Traefik adds X-Original-URI for a dataset it may read.
    CHECK(target_of({{"X-Original-URI", "/v1/datasets/orders/rows"},
                     {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}})
              .ambiguous);
    // ...or X-Original-Method: GET to a DELETE.
    CHECK(target_of({{"X-Original-Method", "GET"}, {"X-Forwarded-Method", "DELETE"}}).ambiguous);
    // The other kind alone is taken from the other proxy's header, never mixed into a default.
    const auto mixed = target_of({{"X-Original-URI", "/v1/x"}, {"X-Forwarded-Method", "PUT"}});
    CHECK_FALSE(mixed.ambiguous);
    CHECK(mixed.method == "PUT");
}

TEST_CASE("original target: one source per endpoint", "[request_mapping]") {
    const HeaderList forged{{"X-Original-Method", "GET"},
                            {"X-Original-URI", "/v1/datasets/orders/rows"},
                            {"X-Forwarded-Method", "DELETE"},
                            {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}};
    // /auth/nginx: nginx's headers only.
    const auto nginx = target_of(forged, TargetSource::original);
    CHECK(nginx.method == "GET");
    CHECK(nginx.uri == "/v1/datasets/orders/rows");
    CHECK_FALSE(nginx.ambiguous);
    // /auth/forward: Traefik's and Caddy's headers only; a client's X-Original-* is ignored.
    const auto forward = target_of(forged, TargetSource::forwarded);
    CHECK(forward.method == "DELETE");
    CHECK(forward.uri == "/v1/datasets/customers/rows");
    CHECK_FALSE(forward.ambiguous);
    const auto forward_only_original =
        target_of({{"X-Original-URI", "/v1/datasets/orders/rows"}}, TargetSource::forwarded);
    CHECK(forward_only_original.uri == "/");
    const auto nginx_only_forwarded =
        target_of({{"X-Forwarded-Method", "DELETE"}}, TargetSource::original);
    CHECK(nginx_only_forwarded.method == "GET");
}

TEST_CASE("original target: a header repeated with different values is ambiguous",
          "[request_mapping]") {
    for (const TargetSource source :
         {TargetSource::original, TargetSource::either, TargetSource::forwarded}) {
        const char* uri_name =
            source == TargetSource::forwarded ? "X-Forwarded-Uri" : "X-Original-URI";
        const char* method_name =
            source == TargetSource::forwarded ? "X-Forwarded-Method" : "X-Original-Method";
        CHECK(target_of({{uri_name, "/client-sent"}, {uri_name, "/proxy-set"}}, source).ambiguous);
        CHECK(target_of({{method_name, "GET"}, {method_name, "DELETE"}}, source).ambiguous);
        const auto same = target_of({{uri_name, "/v1/x"}, {uri_name, "/v1/x"}}, source);
        CHECK_FALSE(same.ambiguous);
        CHECK(same.uri == "/v1/x");
    }
    // A method that is not a token cannot be what the upstream serves.
    CHECK(target_of({{"X-Original-Method", "GET /x"}}).ambiguous);
    CHECK(target_of({{"X-Original-Method", "get"}}).method == "GET");
}

TEST_CASE("original target: envoy's path after the prefix", "[request_mapping]") {
    const auto target =
        original_from_envoy_target("/auth/envoy/v1/datasets/a%2Fb/x?dataset=c", "put");
    REQUIRE(target);
    CHECK(target->method == "PUT");
    CHECK(target->uri == "/v1/datasets/a%2Fb/x?dataset=c");
    CHECK(original_from_envoy_target("/auth/envoy", "GET")->uri == "/");
    CHECK(original_from_envoy_target("/auth/envoy?dataset=x", "GET")->uri == "/?dataset=x");
    CHECK_FALSE(original_from_envoy_target("/auth/envoyx/y", "GET"));
    CHECK(is_envoy_target("/auth/envoy"));
    CHECK(is_envoy_target("/auth/envoy/x"));
    CHECK(is_envoy_target("/auth/envoy?x=1"));
    CHECK_FALSE(is_envoy_target("/auth/envoyx"));
    CHECK_FALSE(is_envoy_target("/auth"));
    CHECK_FALSE(original_from_envoy_target("/auth/nginx", "GET"));

    const Gathered none(HeaderList{});
    AuthRequest root =
        map_auth_request(none.view, *original_from_envoy_target("/auth/envoy?dataset=x", "GET"),
                         ip("10.0.0.1"), Settings{}, {});
    CHECK(root.path == "/");
    CHECK(root.query_datasets == std::vector<std::string>{"x"});
}

TEST_CASE("forwarded hops", "[request_mapping]") {
    CHECK(parse_forwarded_hop(" 10.0.0.1 ") == ip("10.0.0.1"));
    CHECK(parse_forwarded_hop("10.0.0.1:8080") == ip("10.0.0.1"));
    CHECK(parse_forwarded_hop("2001:db8::1") == ip("2001:db8::1"));
    CHECK(parse_forwarded_hop("[2001:db8::1]:443") == ip("2001:db8::1"));
    CHECK(parse_forwarded_hop("[2001:db8::1]") == ip("2001:db8::1"));
    CHECK(parse_forwarded_hop("::ffff:10.0.0.1") == ip("10.0.0.1"));
    CHECK_FALSE(parse_forwarded_hop("unknown"));
    CHECK_FALSE(parse_forwarded_hop("_hidden"));
    CHECK_FALSE(parse_forwarded_hop("[2001:db8::1"));
    CHECK_FALSE(parse_forwarded_hop(""));
}

TEST_CASE("client address: the peer unless it is a trusted proxy", "[request_mapping]") {
    const HeaderList forged = {{"X-Real-IP", "10.9.9.9"},
                               {"X-Forwarded-For", "10.8.8.8"},
                               {"REMOTE_ADDR", "10.7.7.7"},
                               {"Forwarded", "for=10.6.6.6"}};
    CHECK(client_of(ip("127.0.0.1"), k_loopback, forged) == ip("10.9.9.9"));
    CHECK(client_of(ip("192.0.2.7"), k_loopback, forged) == ip("192.0.2.7"));
    CHECK(client_of(ip("127.0.0.1"), {}, forged) == ip("127.0.0.1"));
}

TEST_CASE("client address: X-Real-IP from a trusted peer", "[request_mapping]") {
    CHECK(client_of(ip("127.0.0.1"), k_loopback,
                    {{"X-Real-IP", "203.0.113.5"}, {"X-Forwarded-For", "198.51.100.1"}}) ==
          ip("203.0.113.5"));
    // Not an address: X-Forwarded-For is used instead.
    CHECK(client_of(ip("127.0.0.1"), k_loopback,
                    {{"X-Real-IP", "garbage"}, {"X-Forwarded-For", "198.51.100.1"}}) ==
          ip("198.51.100.1"));
}

TEST_CASE("client address: X-Forwarded-For right to left, skipping trusted hops",
          "[request_mapping]") {
    const auto trusted = cidrs({"127.0.0.1/32", "10.0.0.0/8"});
    const auto peer = ip("127.0.0.1");
    CHECK(client_of(peer, trusted, {{"X-Forwarded-For", "198.51.100.9, 203.0.113.5, 10.0.0.2"}}) ==
          ip("203.0.113.5"));
    // Several headers are one list, in order.
    CHECK(client_of(peer, trusted,
                    {{"X-Forwarded-For", "198.51.100.9"}, {"X-Forwarded-For", "10.1.1.1"}}) ==
          ip("198.51.100.9"));
    // Every hop trusted: the leftmost.
    CHECK(client_of(peer, trusted, {{"X-Forwarded-For", "10.0.0.5, 10.0.0.6"}}) == ip("10.0.0.5"));
    // A hop that is not an address stops the walk at the last address read.
    CHECK(client_of(peer, trusted, {{"X-Forwarded-For", "198.51.100.9, junk, 10.0.0.7"}}) ==
          ip("10.0.0.7"));
    CHECK(client_of(peer, trusted, {{"X-Forwarded-For", "junk"}}) == peer);
    CHECK(client_of(peer, trusted, {}) == peer);
    CHECK(client_of(peer, trusted, {{"X-Forwarded-For", "[2001:db8::5]:80"}}) == ip("2001:db8::5"));
}

TEST_CASE("request key: header, bearer, query and conflicts", "[request_mapping]") {
    const std::string header = "X-API-Key";
    CHECK(key_of({{"X-API-Key", "pk_a"}}, header, std::nullopt).key == "pk_a");
    CHECK(key_of({{"x-api-key", "pk_a"}}, header, std::nullopt).key == "pk_a");
    CHECK(key_of({{"Authorization", "Bearer pk_b"}}, header, std::nullopt).key == "pk_b");
    CHECK(key_of({}, header, std::string_view("pk_q")).key == "pk_q");
    CHECK(key_of({{"X-API-Key", "pk_a"}, {"Authorization", "Bearer pk_a"}}, header, std::nullopt)
              .key == "pk_a");

    const auto both =
        key_of({{"X-API-Key", "pk_a"}, {"Authorization", "Bearer pk_b"}}, header, std::nullopt);
    CHECK(both.conflicting);
    CHECK_FALSE(both.key);
    const auto repeated =
        key_of({{"X-API-Key", "pk_a"}, {"X-API-Key", "pk_b"}}, header, std::nullopt);
    CHECK(repeated.conflicting);
    CHECK(key_of({{"X-API-Key", "pk_a"}, {"X-API-Key", "pk_a"}}, header, std::nullopt).key ==
          "pk_a");
    CHECK(key_of({{"X-API-Key", "pk_a"}}, header, std::string_view("pk_q")).conflicting);
    // A configured header name.
    CHECK(key_of({{"X-Token", "pk_t"}, {"X-API-Key", "pk_a"}}, "X-Token", std::nullopt).key ==
          "pk_t");
    CHECK_FALSE(key_of({{"X-API-Key", ""}}, header, std::nullopt).key);
}

TEST_CASE("X-Dataset", "[request_mapping]") {
    CHECK_FALSE(dataset_of({}));
    CHECK_FALSE(dataset_of({{"X-Dataset", ""}}));
    CHECK(dataset_of({{"X-Dataset", "orders"}}) == "orders");
    CHECK(dataset_of({{"X-Dataset", "orders"}, {"X-Dataset", "orders"}}) == "orders");
    CHECK(dataset_of({{"X-Dataset", "orders"}, {"X-Dataset", "customers"}}) == "orders,customers");
}

TEST_CASE("dataset of a forwarded JSON body", "[request_mapping]") {
    CHECK(body_dataset("application/json", R"({"dataset":"orders","sql":"x"})") == "orders");
    CHECK(body_dataset("Application/JSON; charset=utf-8", R"({"dataset":"orders"})") == "orders");
    CHECK(body_dataset("application/vnd.query+json", R"({"dataset":"orders"})") == "orders");
    CHECK_FALSE(body_dataset("text/plain", R"({"dataset":"orders"})"));
    CHECK_FALSE(body_dataset("", R"({"dataset":"orders"})"));
    CHECK_FALSE(body_dataset("application/json", R"({"dataset":null})"));
    CHECK_FALSE(body_dataset("application/json", R"({"nested":{"dataset":"orders"}})"));
    CHECK_FALSE(body_dataset("application/json", R"(["orders"])"));
    CHECK_FALSE(body_dataset("application/json", "{not json"));
    CHECK_FALSE(body_dataset("application/json", ""));
    // Values another reader could see differently never pass as a dataset name.
    CHECK(body_dataset("application/json", R"({"dataset":["orders","customers"]})") ==
          R"(["orders","customers"])");
    CHECK(body_dataset("application/json", R"({"dataset":5})") == "5");
    CHECK(body_dataset("application/json", R"({"dataset":"orders","dataset":"customers"})") ==
          "(dataset given twice)");
}

TEST_CASE("auth request: everything together", "[request_mapping]") {
    Settings settings;
    settings.trusted_proxies = k_loopback;
    const Gathered headers(HeaderList{
        {"X-Original-Method", "GET"},
        {"X-Original-URI", "/v1/datasets/orders/rows?dataset=customers&api_key=pk_q"},
        {"X-API-Key", "pk_acme_test0001"},
        {"X-Dataset", "orders"},
        {"X-Real-IP", "203.0.113.5"},
        {"Content-Type", "application/json"},
    });
    const AuthRequest request =
        map_auth_request(headers.view, original_from_headers(headers.view, TargetSource::either),
                         ip("127.0.0.1"), settings, R"({"dataset":"x"})");
    CHECK(request.key == "pk_acme_test0001"); // the query key is ignored: allow_query_key off
    CHECK_FALSE(request.conflicting_keys);
    CHECK(request.method == "GET");
    CHECK(request.path == "/v1/datasets/orders/rows");
    CHECK(request.segments == std::vector<std::string>{"v1", "datasets", "orders", "rows"});
    CHECK(request.query_datasets == std::vector<std::string>{"customers"});
    CHECK(request.header_dataset == "orders");
    CHECK(request.body_dataset == "x");
    CHECK(request.client_ip == ip("203.0.113.5"));

    settings.allow_query_key = true;
    const AuthRequest with_query =
        map_auth_request(headers.view, original_from_headers(headers.view, TargetSource::either),
                         ip("127.0.0.1"), settings, {});
    CHECK(with_query.conflicting_keys);
    CHECK_FALSE(with_query.body_dataset);
}

TEST_CASE("auth request: header and envoy URIs are raw, decoded once per segment",
          "[request_mapping]") {
    // The listener hands over raw header values: "%61" is decoded exactly once.
    const Gathered headers(HeaderList{{"X-Original-URI", "/v1/datasets/%61/x?dataset=%61"}});
    const AuthRequest request =
        map_auth_request(headers.view, original_from_headers(headers.view, TargetSource::original),
                         ip("127.0.0.1"), Settings{}, {});
    CHECK(request.segments == std::vector<std::string>{"v1", "datasets", "a", "x"});
    CHECK(request.query_datasets == std::vector<std::string>{"a"});
    CHECK_FALSE(request.ambiguous);

    // "%3F" in a header is a '?' inside a segment, not the start of the query: row 0.
    const Gathered tricked(
        HeaderList{{"X-Original-URI", "/v1/datasets/orders%3F/../customers/rows"}});
    CHECK(map_auth_request(tricked.view,
                           original_from_headers(tricked.view, TargetSource::original),
                           ip("127.0.0.1"), Settings{}, {})
              .ambiguous);

    // A double encoding decodes to '%': row 0 through the envoy prefix too.
    const Gathered none(HeaderList{});
    const AuthRequest envoy = map_auth_request(
        none.view,
        *original_from_envoy_target("/auth/envoy/v1/datasets/%2561/x?dataset=%2561", "GET"),
        ip("127.0.0.1"), Settings{}, {});
    CHECK(envoy.ambiguous);
    const AuthRequest envoy_ok = map_auth_request(
        none.view, *original_from_envoy_target("/auth/envoy/v1/datasets/%6Frders/x", "GET"),
        ip("127.0.0.1"), Settings{}, {});
    CHECK(envoy_ok.segments == std::vector<std::string>{"v1", "datasets", "orders", "x"});
}

TEST_CASE("traceparent: the trace id of a valid header only", "[request_mapping]") {
    CHECK(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") ==
          "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(trace_id_of(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ") ==
          "4bf92f3577b34da6a3ce929d0e0e4736");
    // A later version may append fields after a '-'.
    CHECK(trace_id_of("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") ==
          "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_FALSE(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    CHECK_FALSE(trace_id_of("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    CHECK_FALSE(trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    CHECK_FALSE(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    CHECK_FALSE(trace_id_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    CHECK_FALSE(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
    CHECK_FALSE(trace_id_of("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
    CHECK_FALSE(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e47\"6-00f067aa0ba902b7-01"));
    CHECK_FALSE(trace_id_of(""));
}

TEST_CASE("gathering headers: counts, sizes, repeated values, any case", "[request_mapping]") {
    const Gathered gathered(HeaderList{{"x-original-uri", "/first"},
                                       {"X-ORIGINAL-URI", "/second"},
                                       {"Content-Length", "12"},
                                       {"user-agent", "PowerBI/2.0"},
                                       {"X-Request-Id", "r-1"},
                                       {"x-token", "pk_a"},
                                       {"X-Forwarded-For", "10.0.0.1"}},
                            "X-Token");
    const RequestHeaders& h = gathered.view;
    CHECK(h.count == 7);
    CHECK(h.bytes == (14 + 6 + 4) + (14 + 7 + 4) + (14 + 2 + 4) + (10 + 11 + 4) + (12 + 3 + 4) +
                         (7 + 4 + 4) + (15 + 8 + 4));
    CHECK(h.original_uri.value == "/first");
    CHECK(h.original_uri.conflict); // repeated with another value: the target is ambiguous
    CHECK(h.content_length == "12");
    CHECK(h.user_agent == "PowerBI/2.0");
    CHECK(h.request_id == "r-1");
    CHECK(h.key.value == "pk_a");
    CHECK(h.has_forwarded_for);
    CHECK_FALSE(h.transfer_encoding);
    CHECK_FALSE(h.authorization.value);
}

// Found with fuzz/fuzz_request_mapping (corpus/fuzz_request_mapping/regressions/deep_dataset):
// a forwarded JSON body whose `dataset` was nested 200000 levels deep overflowed the stack
// when the value was dumped.
TEST_CASE("dataset of a forwarded JSON body: regression: too deep a body is denied",
          "[request_mapping]") {
    const std::size_t depth = 200000;
    const std::string body =
        R"({"dataset":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
    const auto dataset = body_dataset("application/json", body);
    REQUIRE(dataset);
    CHECK(*dataset == "(body nested too deeply)");
    CHECK(body_dataset("application/json", R"({"dataset":[[["a"]]]})") == R"([[["a"]]])");
}
