// Envoy's gRPC Check mapped to the decision of /auth/envoy (src/grpc/check_mapping.*): the
// CheckRequest as Envoy fills it, the CheckResponse Envoy reads, and the very same decision
// and headers as an HTTP request to /auth/envoy for every row of CONTRACT §5.
#include "core/config_loader.hpp"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "grpc/check_mapping.hpp"
#include "grpc/proto_wire.hpp"
#include "infra/audit_sink.hpp"
#include "infra/key_set_holder.hpp"
#include "infra/usage_tracker.hpp"
#include "server/admission_control.hpp"
#include "server/http_api.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

using namespace keygate;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

namespace {

/// A fake key made up for this run: "pk_acme_" and 24 random base62 characters.
std::string fresh_key() {
    static std::mt19937_64 random{std::random_device{}()};
    static constexpr std::string_view alphabet =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string key = "pk_acme_";
    for (int i = 0; i < 24; ++i)
        key += alphabet[random() % alphabet.size()];
    return key;
}

struct Keys {
    std::string viewer = fresh_key();
    std::string disabled = fresh_key();
    std::string expired = fresh_key();
    std::string office = fresh_key();
    std::string limited = fresh_key();
    std::string admin = fresh_key();
};

std::string key_file(const Keys& k, std::string_view settings) {
    return R"(version: 1
settings: {trusted_proxies: ["127.0.0.1/32"])" +
           std::string(settings) + R"(}
tenants:
  acme_corp: {allowed_datasets: [orders, customers]}
api_keys:
  - {id: acme-bi, key: ")" +
           k.viewer + R"(", tenant: acme_corp, role: viewer, allowed_datasets: [orders]}
  - {id: acme-disabled, key: ")" +
           k.disabled + R"(", tenant: acme_corp, role: viewer, enabled: false}
  - {id: acme-expired, key: ")" +
           k.expired + R"(", tenant: acme_corp, role: viewer, expires_at: 2020-01-01T00:00:00Z}
  - {id: acme-office, key: ")" +
           k.office + R"(", tenant: acme_corp, role: viewer, ip_allowlist: [10.1.0.0/16]}
  - {id: acme-limited, key: ")" +
           k.limited + R"(", tenant: acme_corp, role: viewer, rate_limit: 1}
  - {id: ops-admin, key: ")" +
           k.admin + R"(", role: admin}
)";
}

/// An HttpApi over a key set of `keys`, with usage and metrics, as `serve` wires it.
struct Fixture {
    Keys keys;
    KeySetHolder holder;
    MemoryAuditSink audit;
    UsageTracker usage;
    UsageTrackerAdmission admission{usage};
    Metrics metrics;
    OperationsHooks operations;
    std::unique_ptr<HttpApi> api;

    /// `settings`: more `settings:` entries, each after a comma (", allow_query_key: true").
    explicit Fixture(std::string_view settings = "") {
        LoadResult load = load_config_text(key_file(keys, settings), LoadOptions{});
        REQUIRE(load.config);
        holder.publish(KeyStore::build(std::move(*load.config)));
        operations.metrics = &metrics;
        api = std::make_unique<HttpApi>(HttpApiDeps{holder, audit, &admission, now_ms, &operations},
                                        HttpApiLimits{});
    }
};

/// A CheckRequest as Envoy's HTTP ext_authz filter sends it.
CheckRequest check_request(std::string_view method, std::string_view path,
                           const std::map<std::string, std::string>& headers,
                           std::string_view source = "192.0.2.10") {
    CheckRequest request;
    auto& attributes = *request.mutable_attributes();
    auto& socket = *attributes.mutable_source()->mutable_address()->mutable_socket_address();
    socket.set_address(std::string(source));
    socket.set_port_value(51234);
    auto& http = *attributes.mutable_request()->mutable_http();
    http.set_method(std::string(method));
    http.set_path(std::string(path));
    auto& map = *http.mutable_headers();
    map[":authority"] = "api.example.com";
    map[":method"] = std::string(method);
    map[":path"] = std::string(path);
    for (const auto& [name, value] : headers)
        map[name] = value;
    return request;
}

struct GrpcAnswer {
    CheckResponse response;
    AuthSummary summary;
};

/// A CheckRequest's wire bytes and the question read from them (views into the bytes).
struct ReadQuestion {
    std::string wire;
    CheckQuestion question;
};

/// Reads `request` as keygate's gRPC server reads it: from protobuf's own serialisation.
std::unique_ptr<ReadQuestion> read_request(const CheckRequest& request) {
    auto out = std::make_unique<ReadQuestion>();
    out->wire = request.SerializeAsString();
    REQUIRE(read_check_request(out->wire, out->question));
    return out;
}

/// Decides `request` as the gRPC server does; the response parsed by protobuf's own parser.
GrpcAnswer grpc_check(Fixture& f, const CheckRequest& request) {
    const auto read = read_request(request);
    http::Response answer;
    GrpcAnswer out;
    out.summary = f.api->answer_question(read->question.question(), answer);
    std::string bytes;
    write_check_response(answer, out.summary, read->question, bytes);
    REQUIRE(out.response.ParseFromString(bytes));
    return out;
}

/// The same request to /auth/envoy over HTTP, from the proxy (trusted) with X-Real-IP.
http::Response http_check(Fixture& f, std::string_view method, std::string_view path,
                          const std::map<std::string, std::string>& headers,
                          std::string_view source = "192.0.2.10") {
    http::Request req;
    req.method = std::string(method);
    req.target = "/auth/envoy" + std::string(path);
    req.path = req.target.substr(0, req.target.find('?'));
    req.remote_addr = std::string(source);
    for (const auto& [name, value] : headers)
        req.add_header(name, value);
    http::Response res;
    f.api->answer(req, res);
    return res;
}

/// Header name (lower case) -> value of a list of HeaderValueOption; each must say
/// append=false.
std::map<std::string, std::string> header_map(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& list) {
    std::map<std::string, std::string> out;
    for (const auto& option : list) {
        CHECK(option.has_append());
        CHECK_FALSE(option.append().value());
        CHECK(out.emplace(option.header().key(), option.header().value()).second);
    }
    return out;
}

std::map<std::string, std::string> lower_headers(const http::Response& res) {
    std::map<std::string, std::string> out;
    for (const auto& field : res.headers) {
        std::string name(field.name);
        for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out[name] = field.value;
    }
    return out;
}

std::string metadata(const CheckResponse& response, const char* field) {
    const auto& fields = response.dynamic_metadata().fields();
    const auto it = fields.find(field);
    return it == fields.end() ? std::string("(absent)") : it->second.string_value();
}

} // namespace

TEST_CASE("grpc check: a CheckRequest reads as the question of /auth/envoy", "[grpc]") {
    CheckRequest request = check_request("post", "/v1/datasets/orders/rows?limit=1",
                                         {{"x-api-key", "k"}, {"x-dataset", "orders"}});
    request.mutable_attributes()->mutable_request()->mutable_http()->set_body(R"({"a":1})");
    const auto read = read_request(request);
    const CheckQuestion& question = read->question;
    CHECK(question.target.method == "POST");
    CHECK(question.target.uri == "/v1/datasets/orders/rows?limit=1");
    CHECK_FALSE(question.target.ambiguous);
    CHECK(to_string(question.peer) == "192.0.2.10");
    CHECK(question.body == R"({"a":1})");
    CHECK(question.question().endpoint == DecisionEndpoint::grpc);
    // Sorted by name, every header as sent (pseudo-headers included, harmlessly).
    REQUIRE(question.fields.size() == 5);
    CHECK(question.fields[0].name == ":authority");
    CHECK(question.fields[3].name == "x-api-key");
    CHECK(question.fields[3].value == "k");

    SECTION("raw headers (encode_raw_headers) win over the merged map, raw_value over value") {
        auto& http = *request.mutable_attributes()->mutable_request()->mutable_http();
        auto* first = http.mutable_header_map()->add_headers();
        first->set_key("x-api-key");
        first->set_raw_value("one");
        auto* second = http.mutable_header_map()->add_headers();
        second->set_key("x-api-key");
        second->set_value("two");
        const auto read_raw = read_request(request);
        const CheckQuestion& raw = read_raw->question;
        REQUIRE(raw.fields.size() == 2);
        CHECK(raw.fields[0].value == "one");
        CHECK(raw.fields[1].value == "two");
    }
    SECTION("a source that is no IP address is ::, a method that is no token row 0") {
        request.mutable_attributes()->mutable_source()->mutable_address()->mutable_pipe()->set_path(
            "/run/envoy.sock");
        request.mutable_attributes()->mutable_request()->mutable_http()->set_method("GE T");
        const auto read_odd = read_request(request);
        const CheckQuestion& odd = read_odd->question;
        CHECK(to_string(odd.peer) == "::");
        CHECK(odd.target.ambiguous);
    }
    SECTION("an empty request asks about GET /") {
        const auto read_empty = read_request(CheckRequest{});
        const CheckQuestion& empty = read_empty->question;
        CHECK(empty.target.method == "GET");
        CHECK(empty.target.uri == "/");
        CHECK(empty.fields.empty());
    }
}

TEST_CASE("grpc check: rpc codes of the HTTP statuses", "[grpc]") {
    CHECK(rpc_code_for_status(200) == RpcCode::ok);
    CHECK(rpc_code_for_status(401) == RpcCode::unauthenticated);
    CHECK(rpc_code_for_status(400) == RpcCode::permission_denied);
    CHECK(rpc_code_for_status(403) == RpcCode::permission_denied);
    CHECK(rpc_code_for_status(429) == RpcCode::permission_denied);
}

TEST_CASE("grpc check: allowed, with X-Auth-* set, the key removed, metadata", "[grpc]") {
    Fixture f;
    const std::map<std::string, std::string> headers{{"x-api-key", f.keys.viewer},
                                                     {"x-auth-tenant", "forged"},
                                                     {"x-auth-key-grace-until", "forged"}};
    const GrpcAnswer grpc =
        grpc_check(f, check_request("GET", "/v1/datasets/orders/rows", headers));
    const CheckResponse& r = grpc.response;
    CHECK(r.status().code() == 0);
    REQUIRE(r.has_ok_response());
    const auto set = header_map(r.ok_response().headers());
    CHECK(set.at("x-auth-key-id") == "acme-bi");
    CHECK(set.at("x-auth-tenant") == "acme_corp");
    CHECK(set.at("x-auth-role") == "viewer");
    CHECK(set.at("x-auth-permissions") == "read");
    CHECK(set.at("x-auth-datasets") == "orders");
    CHECK(set.at("x-auth-rls") == "apply");
    CHECK(r.ok_response().response_headers_to_add().empty());
    // The key header, and the client's own X-Auth-* header keygate did not set.
    const auto& removed = r.ok_response().headers_to_remove();
    CHECK(std::vector<std::string>(removed.begin(), removed.end()) ==
          std::vector<std::string>{"x-api-key", "x-auth-key-grace-until"});
    CHECK(metadata(r, "key_id") == "acme-bi");
    CHECK(metadata(r, "tenant") == "acme_corp");
    CHECK(metadata(r, "role") == "viewer");
    CHECK(metadata(r, "code") == "OK");

    // The same X-Auth-* headers as /auth/envoy over HTTP.
    const http::Response http = http_check(f, "GET", "/v1/datasets/orders/rows", headers);
    CHECK(http.status == 200);
    std::map<std::string, std::string> http_auth;
    for (const auto& [name, value] : lower_headers(http)) {
        if (name.starts_with("x-auth-"))
            http_auth[name] = value;
    }
    CHECK(http_auth == set);

    // Audited and counted like HTTP, under endpoint="grpc".
    const auto records = f.audit.records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].code == "OK");
    CHECK(records[0].key_id == "acme-bi");
    CHECK(records[0].endpoint == "/v1/datasets/orders/rows");
    CHECK(records[0].client_ip == "192.0.2.10");
    CHECK(records[0].status == 200);
    const std::string text = f.metrics.render(Metrics::Scrape{});
    CHECK(
        text.find("keygate_requests_total{endpoint=\"grpc\",decision=\"allow\",code=\"OK\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("grpc check: a Bearer key is removed as authorization", "[grpc]") {
    Fixture f;
    const GrpcAnswer grpc =
        grpc_check(f, check_request("GET", "/v1/x", {{"authorization", "Bearer " + f.keys.admin}}));
    REQUIRE(grpc.response.has_ok_response());
    const auto& removed = grpc.response.ok_response().headers_to_remove();
    CHECK(std::vector<std::string>(removed.begin(), removed.end()) ==
          std::vector<std::string>{"x-api-key", "authorization"});
    // An admin key has no tenant: neither header nor metadata.
    const auto set = header_map(grpc.response.ok_response().headers());
    CHECK(set.count("x-auth-tenant") == 0);
    CHECK(metadata(grpc.response, "tenant") == "(absent)");
    CHECK(metadata(grpc.response, "key_id") == "ops-admin");
}

TEST_CASE("grpc check: every denial row as /auth/envoy answers it", "[grpc]") {
    Fixture f;
    struct Row {
        const char* name;
        std::string method;
        std::string path;
        std::map<std::string, std::string> headers;
        std::string source;
        int status;
        const char* code;
        int rpc;
        const char* key_id; ///< the metadata's key_id
    };
    const std::vector<Row> rows{
        {"0 ambiguous",
         "GET",
         "/v1/datasets/orders%2F..%2Fcustomers/rows",
         {{"x-api-key", f.keys.viewer}},
         "192.0.2.10",
         400,
         "INVALID_REQUEST",
         7,
         "(absent)"},
        {"1 no key",
         "GET",
         "/v1/datasets/orders/rows",
         {},
         "192.0.2.10",
         401,
         "MISSING_KEY",
         16,
         "(absent)"},
        {"2 unknown key",
         "GET",
         "/v1/x",
         {{"x-api-key", fresh_key()}},
         "192.0.2.10",
         401,
         "INVALID_KEY",
         16,
         "(absent)"},
        {"3 disabled",
         "GET",
         "/v1/x",
         {{"x-api-key", f.keys.disabled}},
         "192.0.2.10",
         403,
         "KEY_DISABLED",
         7,
         "acme-disabled"},
        {"4 expired",
         "GET",
         "/v1/x",
         {{"x-api-key", f.keys.expired}},
         "192.0.2.10",
         403,
         "KEY_EXPIRED",
         7,
         "acme-expired"},
        {"5 address",
         "GET",
         "/v1/x",
         {{"x-api-key", f.keys.office}},
         "192.0.2.10",
         403,
         "IP_NOT_ALLOWED",
         7,
         "acme-office"},
        {"6 permission",
         "POST",
         "/v1/datasets/orders/rows",
         {{"x-api-key", f.keys.viewer}},
         "192.0.2.10",
         403,
         "INSUFFICIENT_PERMISSION",
         7,
         "acme-bi"},
        {"7 dataset",
         "GET",
         "/v1/datasets/customers/rows",
         {{"x-api-key", f.keys.viewer}},
         "192.0.2.10",
         403,
         "DATASET_FORBIDDEN",
         7,
         "acme-bi"},
    };
    for (const Row& row : rows) {
        INFO(row.name);
        const GrpcAnswer grpc =
            grpc_check(f, check_request(row.method, row.path, row.headers, row.source));
        const CheckResponse& r = grpc.response;
        CHECK(r.status().code() == row.rpc);
        CHECK(r.status().message() == row.code);
        REQUIRE(r.has_denied_response());
        CHECK(static_cast<int>(r.denied_response().status().code()) == row.status);
        CHECK(metadata(r, "code") == row.code);
        CHECK(metadata(r, "key_id") == row.key_id);

        const http::Response http = http_check(f, row.method, row.path, row.headers, row.source);
        CHECK(http.status == row.status);
        CHECK(r.denied_response().body() == http.body);
        CHECK(header_map(r.denied_response().headers()) == lower_headers(http));
        CHECK(lower_headers(http).at("x-auth-error-code") == row.code);
    }
    // The address row allows from the allowlisted range.
    CHECK(grpc_check(f, check_request("GET", "/v1/x", {{"x-api-key", f.keys.office}}, "10.1.2.3"))
              .response.has_ok_response());
}

TEST_CASE("grpc check: row 8, rate limited, stays 429 with Retry-After", "[grpc]") {
    Fixture f;
    const auto request = check_request("GET", "/v1/x", {{"x-api-key", f.keys.limited}});
    const GrpcAnswer first = grpc_check(f, request);
    REQUIRE(first.response.has_ok_response());
    const auto added = header_map(first.response.ok_response().response_headers_to_add());
    CHECK(added.at("x-ratelimit-limit") == "1");
    CHECK(added.at("x-ratelimit-remaining") == "0");
    CHECK(added.count("ratelimit-policy") == 1);
    CHECK(header_map(first.response.ok_response().headers()).count("x-ratelimit-limit") == 0);

    const GrpcAnswer second = grpc_check(f, request);
    const CheckResponse& r = second.response;
    CHECK(r.status().code() == 7);
    REQUIRE(r.has_denied_response());
    CHECK(r.denied_response().status().code() == envoy::type::v3::TooManyRequests);
    const auto headers = header_map(r.denied_response().headers());
    CHECK(headers.at("x-auth-error-code") == "RATE_LIMITED");
    CHECK(headers.at("retry-after") != "");
    CHECK(headers.at("content-type") == "application/json");
    CHECK(r.denied_response().body() ==
          R"({"detail":"Rate limit exceeded","code":"RATE_LIMITED"})");
    CHECK(metadata(r, "key_id") == "acme-limited");
    CHECK(metadata(r, "code") == "RATE_LIMITED");
}

TEST_CASE("grpc check: no key set loaded is no decision", "[grpc]") {
    KeySetHolder holder;
    MemoryAuditSink audit;
    HttpApi api(HttpApiDeps{holder, audit}, HttpApiLimits{});
    const CheckRequest request = check_request("GET", "/", {});
    const auto read = read_request(request);
    const CheckQuestion& question = read->question;
    http::Response answer;
    const AuthSummary summary = api.answer_question(question.question(), answer);
    CHECK_FALSE(summary.decided);
    CHECK(answer.status == 503);
    CHECK(audit.records().empty());
}

// ---- what a client can put into the CheckRequest Envoy sends ----------------------------

namespace {

/// The decision of gRPC Check and of /auth/envoy for one request: the HTTP status each one
/// gives (the DeniedHttpResponse status, 200 when allowed) and the code.
struct BothAnswers {
    int grpc_status;
    std::string grpc_code;
    int http_status;
    std::string http_code;
};

BothAnswers both(Fixture& f, std::string_view method, std::string_view path,
                 const std::map<std::string, std::string>& headers,
                 std::string_view source = "192.0.2.10") {
    const GrpcAnswer grpc = grpc_check(f, check_request(method, path, headers, source));
    const http::Response http = http_check(f, method, path, headers, source);
    const int grpc_status = grpc.response.has_ok_response()
                                ? 200
                                : static_cast<int>(grpc.response.denied_response().status().code());
    const auto http_headers = lower_headers(http);
    const auto code = http_headers.find("x-auth-error-code");
    return {grpc_status, metadata(grpc.response, "code"), http.status == -1 ? 200 : http.status,
            code == http_headers.end() ? std::string("OK") : code->second};
}

/// A CheckRequest whose headers come as Envoy's `header_map` (encode_raw_headers), in order.
CheckRequest raw_check_request(std::string_view method, std::string_view path,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view source = "192.0.2.10") {
    CheckRequest request = check_request(method, path, {}, source);
    auto& http = *request.mutable_attributes()->mutable_request()->mutable_http();
    http.clear_headers();
    for (const auto& [name, value] : headers) {
        auto* header = http.mutable_header_map()->add_headers();
        header->set_key(name);
        header->set_raw_value(value);
    }
    return request;
}

std::vector<std::string> removed_headers(const CheckResponse& response) {
    const auto& removed = response.ok_response().headers_to_remove();
    return {removed.begin(), removed.end()};
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

} // namespace

TEST_CASE("grpc attack: hostile paths are decided as /auth/envoy decides them", "[grpc]") {
    Fixture f;
    const std::map<std::string, std::string> viewer{{"x-api-key", f.keys.viewer}};
    struct Row {
        std::string path;
        int status; ///< what both must answer for the viewer key
    };
    using namespace std::string_literals;
    const std::vector<Row> rows{
        {"/v1/datasets/customers%3F/rows", 400},            // encoded '?'
        {"/v1/datasets/orders%2F..%2Fcustomers/rows", 400}, // encoded '/'
        {"/v1/datasets/orders%252Fx/rows", 400},            // double encoding
        {"/v1/datasets/orders/../customers/rows", 403},     // dot segments resolved: customers
        {"/v1/datasets/../../admin/x", 403},                // resolves to /admin/x: admin needed
        {"/../admin/x", 400},                               // above the root
        {"/v1/datasets/orders;x/rows", 400},                // servlet path parameter
        {"/v1/datasets/orders/rows#frag", 400},             // raw fragment
        {"/v1/datasets/orders\\..\\customers/rows", 400},   // backslash
        {"/v1/datasets/orders\0/rows"s, 400},               // raw NUL
        {"/v1/datasets/orders%00/rows", 400},               // encoded NUL
        {"/v1/datasets/\xc0\xae/rows", 400},                // not UTF-8 (overlong '.')
        {"/v1/datasets/orders/rows?dataset=customers", 403},
        {"/v1/datasets/orders/rows?dataset=cust%2500omers", 400},
        {"/admin/x", 403},
        {"//admin//x", 403}, // empty segments dropped
        {"/v1/datasets/orders/rows", 200},
        {"/v1/datasets/orders/./rows", 200},
    };
    for (const Row& row : rows) {
        INFO("path " << row.path);
        const BothAnswers answers = both(f, "GET", row.path, viewer);
        CHECK(answers.grpc_status == row.status);
        CHECK(answers.http_status == row.status);
        CHECK(answers.grpc_code == answers.http_code);
    }
    // Targets Envoy never sends as :path but a CheckRequest can hold (no /auth/envoy twin):
    // an absolute-form URI is read as its path, anything else is ambiguous.
    CHECK(both(f, "GET", "http://evil.example/admin/x", viewer).grpc_status == 403);
    CHECK(both(f, "GET", "http://evil.example/v1/datasets/orders/rows", viewer).grpc_status == 200);
    for (const char* odd : {"*", "admin/x", "v1/datasets/orders/rows", "?x=1"}) {
        INFO("path " << odd);
        CHECK(both(f, "GET", odd, viewer).grpc_status == 400);
    }
    // An empty path is "/" (GET: read), as /auth/envoy with nothing after the prefix.
    const BothAnswers empty = both(f, "GET", "", viewer);
    CHECK(empty.grpc_status == 200);
    CHECK(empty.http_status == 200);
}

TEST_CASE("grpc attack: odd methods are decided as /auth/envoy decides them", "[grpc]") {
    Fixture f;
    const std::map<std::string, std::string> viewer{{"x-api-key", f.keys.viewer}};
    // Lower case is the same method to keygate (write needs write either way).
    for (const char* method : {"delete", "Delete", "DELETE", "post"}) {
        INFO("method " << method);
        const BothAnswers answers = both(f, method, "/v1/datasets/orders/rows", viewer);
        CHECK(answers.grpc_status == 403);
        CHECK(answers.http_status == 403);
        CHECK(answers.grpc_code == "INSUFFICIENT_PERMISSION");
    }
    // No token: row 0 (no HTTP twin: such a request line never reaches /auth/envoy).
    for (const char* method : {"GE T", "GET\r\nX: y", "G\x01T"}) {
        INFO("method " << method);
        CHECK(both(f, method, "/v1/x", viewer).grpc_status == 400);
    }
    // The decision reads attributes.request.http.method/path, never the pseudo-headers.
    CheckRequest request = check_request("GET", "/admin/x", viewer);
    (*request.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers())[":path"] =
        "/v1/datasets/orders/rows";
    CHECK(grpc_check(f, request).response.denied_response().status().code() ==
          envoy::type::v3::Forbidden);
}

TEST_CASE("grpc attack: header names and repeats in header_map", "[grpc]") {
    Fixture f;
    SECTION("an upper-case key header is the key header, and removed in lower case") {
        const GrpcAnswer grpc =
            grpc_check(f, raw_check_request("GET", "/v1/x", {{"X-API-Key", f.keys.viewer}}));
        REQUIRE(grpc.response.has_ok_response());
        CHECK(contains(removed_headers(grpc.response), "x-api-key"));
    }
    SECTION("the same key twice is the key; two different keys are INVALID_KEY, as over HTTP") {
        const GrpcAnswer same = grpc_check(
            f, raw_check_request("GET", "/v1/x",
                                 {{"x-api-key", f.keys.viewer}, {"X-Api-Key", f.keys.viewer}}));
        CHECK(same.response.has_ok_response());
        const GrpcAnswer two = grpc_check(
            f, raw_check_request("GET", "/v1/x",
                                 {{"x-api-key", f.keys.viewer}, {"x-api-key", f.keys.admin}}));
        REQUIRE(two.response.has_denied_response());
        CHECK(metadata(two.response, "code") == "INVALID_KEY");
        CHECK(metadata(two.response, "key_id") == "(absent)");
    }
    SECTION("Envoy's merged map joins repeats with a comma: no key, fail closed") {
        const BothAnswers joined =
            both(f, "GET", "/v1/x", {{"x-api-key", f.keys.viewer + "," + f.keys.admin}});
        CHECK(joined.grpc_status == 401);
        CHECK(joined.http_status == 401);
        CHECK(joined.grpc_code == "INVALID_KEY");
    }
    SECTION("a forged X-Auth-* header in any case is removed or overwritten") {
        const GrpcAnswer grpc =
            grpc_check(f, raw_check_request("GET", "/v1/x",
                                            {{"x-api-key", f.keys.admin},
                                             {"X-Auth-Tenant", "acme_corp"}, // admin has no tenant
                                             {"X-AUTH-ROLE", "admin-forged"},
                                             {"x-auth-datasets-denied", "none"}}));
        REQUIRE(grpc.response.has_ok_response());
        const auto removed = removed_headers(grpc.response);
        CHECK(contains(removed, "x-auth-tenant"));
        CHECK(contains(removed, "x-auth-datasets-denied"));
        const auto set = header_map(grpc.response.ok_response().headers());
        CHECK(set.at("x-auth-role") == "admin");
        // What is set is never removed again (Envoy removes after it sets).
        for (const auto& [name, value] : set)
            CHECK_FALSE(contains(removed, name));
    }
    SECTION("Bearer and the same X-API-Key: both go, as both hold the key") {
        const GrpcAnswer grpc =
            grpc_check(f, raw_check_request("GET", "/v1/x",
                                            {{"x-api-key", f.keys.viewer},
                                             {"Authorization", "bearer " + f.keys.viewer}}));
        REQUIRE(grpc.response.has_ok_response());
        const auto removed = removed_headers(grpc.response);
        CHECK(contains(removed, "x-api-key"));
        CHECK(contains(removed, "authorization"));
    }
    SECTION("Basic credentials beside the key stay (they are not the key)") {
        const GrpcAnswer grpc = grpc_check(
            f,
            raw_check_request("GET", "/v1/x",
                              {{"x-api-key", f.keys.viewer}, {"authorization", "Basic dXM6cHc="}}));
        REQUIRE(grpc.response.has_ok_response());
        CHECK_FALSE(contains(removed_headers(grpc.response), "authorization"));
    }
}

TEST_CASE("grpc attack: the client address comes from attributes.source only", "[grpc]") {
    Fixture f;
    const std::string office = f.keys.office; // ip_allowlist 10.1.0.0/16
    SECTION("forged X-Real-IP / X-Forwarded-For from an untrusted source count for nothing") {
        for (const char* header : {"x-real-ip", "x-forwarded-for", "x-envoy-external-address"}) {
            INFO(header);
            const BothAnswers answers =
                both(f, "GET", "/v1/x", {{"x-api-key", office}, {header, "10.1.2.3"}});
            CHECK(answers.grpc_code == "IP_NOT_ALLOWED");
            CHECK(answers.http_code == "IP_NOT_ALLOWED");
        }
    }
    SECTION("from a trusted source, X-Real-IP counts, as over HTTP") {
        const BothAnswers answers = both(
            f, "GET", "/v1/x", {{"x-api-key", office}, {"x-real-ip", "10.1.2.3"}}, "127.0.0.1");
        CHECK(answers.grpc_status == 200);
        CHECK(answers.http_status == 200);
    }
    SECTION("IPv4-mapped IPv6 is the IPv4 address; other IPv6 is not in a v4 range") {
        BothAnswers answers = both(f, "GET", "/v1/x", {{"x-api-key", office}}, "::ffff:10.1.2.3");
        CHECK(answers.grpc_status == 200);
        CHECK(answers.http_status == 200);
        answers = both(f, "GET", "/v1/x", {{"x-api-key", office}}, "::ffff:192.0.2.10");
        CHECK(answers.grpc_code == "IP_NOT_ALLOWED");
        CHECK(answers.http_code == "IP_NOT_ALLOWED");
        answers = both(f, "GET", "/v1/x", {{"x-api-key", office}}, "2001:db8::10:1:2:3");
        CHECK(answers.grpc_code == "IP_NOT_ALLOWED");
        CHECK(answers.http_code == "IP_NOT_ALLOWED");
    }
    SECTION("no address, a pipe, a name, a malformed address: never in an allowlist") {
        std::vector<CheckRequest> requests;
        CheckRequest none = check_request("GET", "/v1/x", {{"x-api-key", office}});
        none.mutable_attributes()->clear_source();
        requests.push_back(none);
        CheckRequest pipe = none;
        pipe.mutable_attributes()->mutable_source()->mutable_address()->mutable_pipe()->set_path(
            "/run/envoy.sock");
        requests.push_back(pipe);
        CheckRequest internal = none;
        internal.mutable_attributes()
            ->mutable_source()
            ->mutable_address()
            ->mutable_envoy_internal_address()
            ->set_server_listener_name("10.1.2.3");
        requests.push_back(internal);
        // An allowed socket address, then an internal address in a second `attributes`:
        // protobuf merges them, the oneof's last member wins, and it is no IP address.
        const std::string merged =
            check_request("GET", "/v1/x", {{"x-api-key", office}}, "10.1.2.3").SerializeAsString() +
            internal.SerializeAsString();
        CheckRequest merged_request;
        REQUIRE(merged_request.ParseFromString(merged));
        REQUIRE(merged_request.attributes().source().address().has_envoy_internal_address());
        requests.push_back(merged_request);
        CheckQuestion question;
        REQUIRE(read_check_request(merged, question)); // the bytes as sent, not re-serialized
        CHECK(question.peer == IpAddress{});
        for (const char* odd : {"localhost", "10.1.2.3 ", "10.1.2.3:80", "10.1.2.3%eth0", ""})
            requests.push_back(check_request("GET", "/v1/x", {{"x-api-key", office}}, odd));
        for (const CheckRequest& request : requests) {
            INFO(request.attributes().source().ShortDebugString());
            const GrpcAnswer grpc = grpc_check(f, request);
            CHECK(metadata(grpc.response, "code") == "IP_NOT_ALLOWED");
        }
        // And a forged X-Real-IP does not help when there is no source at all.
        none.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers()->insert(
            {"x-real-ip", "10.1.2.3"});
        CHECK(metadata(grpc_check(f, none).response, "code") == "IP_NOT_ALLOWED");
    }
}

TEST_CASE("grpc attack: no secret in the CheckResponse", "[grpc]") {
    Fixture f;
    const std::string unknown = fresh_key();
    for (const std::string& key : {f.keys.viewer, f.keys.disabled, unknown}) {
        for (const char* path : {"/v1/x", "/v1/datasets/customers/rows", "/v1/x%2F"}) {
            const GrpcAnswer grpc = grpc_check(f, check_request("GET", path, {{"x-api-key", key}}));
            std::string bytes;
            REQUIRE(grpc.response.SerializeToString(&bytes));
            // Neither the key nor its secret part (after the last '_') in any field.
            CHECK(bytes.find(key) == std::string::npos);
            CHECK(bytes.find(key.substr(key.rfind('_') + 1)) == std::string::npos);
            for (const auto& [name, value] : grpc.response.dynamic_metadata().fields()) {
                INFO(name);
                CHECK((name == "code" || name == "key_id" || name == "role" || name == "tenant"));
            }
        }
    }
}

TEST_CASE("grpc attack: ?api_key= counts only with allow_query_key, as over HTTP", "[grpc]") {
    for (const bool allowed : {false, true}) {
        INFO("allow_query_key " << allowed);
        Fixture f(allowed ? ", allow_query_key: true" : "");
        const std::string path = "/v1/datasets/orders/rows?api_key=" + f.keys.viewer;
        const BothAnswers alone = both(f, "GET", path, {});
        CHECK(alone.grpc_status == (allowed ? 200 : 401));
        CHECK(alone.http_status == alone.grpc_status);
        CHECK(alone.grpc_code == alone.http_code);
        // Beside a different header key: two keys (on), or only the header's (off).
        const BothAnswers beside = both(f, "GET", path, {{"x-api-key", f.keys.admin}});
        CHECK(beside.grpc_code == (allowed ? "INVALID_KEY" : "OK"));
        CHECK(beside.http_code == beside.grpc_code);
        // An encoded or ambiguous api_key is read the same way by both.
        const BothAnswers encoded = both(f, "GET", "/v1/x?api%5Fkey=" + f.keys.viewer, {});
        CHECK(encoded.grpc_code == encoded.http_code);
        const BothAnswers nul = both(f, "GET", "/v1/x?api_key=" + f.keys.viewer + "%00", {});
        CHECK(nul.grpc_status == 400); // an api_key holding NUL is ambiguous, read or not
        CHECK(nul.http_status == nul.grpc_status);
    }
}

TEST_CASE("grpc check: a key in ?api_key= is removed from the upstream's URI", "[grpc]") {
    Fixture f(", allow_query_key: true");
    const std::string path = "/v1/datasets/orders/rows?limit=1&api_key=" + f.keys.viewer;
    const GrpcAnswer query = grpc_check(f, check_request("GET", path, {}));
    REQUIRE(query.response.status().code() == 0);
    REQUIRE(query.response.ok_response().query_parameters_to_remove_size() == 1);
    CHECK(query.response.ok_response().query_parameters_to_remove(0) == "api_key");
    // The same key in the header and the query: both are removed.
    const GrpcAnswer both_places =
        grpc_check(f, check_request("GET", path, {{"x-api-key", f.keys.viewer}}));
    CHECK(both_places.response.ok_response().query_parameters_to_remove_size() == 1);
    // Envoy removes by raw name, splitting at '&' only: each parameter that holds the key is
    // named as it is spelled, so that an encoded name or a ';' cannot keep the key in the URI.
    const auto removals = [&](const std::string& parameters) {
        const GrpcAnswer answer =
            grpc_check(f, check_request("GET", "/v1/datasets/orders/rows?" + parameters, {}));
        INFO(parameters);
        CHECK(answer.response.status().code() == 0);
        const auto& list = answer.response.ok_response().query_parameters_to_remove();
        return std::vector<std::string>(list.begin(), list.end());
    };
    const std::string& k = f.keys.viewer;
    CHECK(removals("api%5Fkey=" + k) == std::vector<std::string>{"api%5Fkey"});
    CHECK(removals("%61pi_key=" + k + "&limit=1") == std::vector<std::string>{"%61pi_key"});
    CHECK(removals("a=1;api_key=" + k) == std::vector<std::string>{"a"});
    CHECK(removals("api%5Fkey=" + k + "&api_key=" + k + "&api_key=" + k) ==
          std::vector<std::string>{"api%5Fkey", "api_key"});
    // A header key leaves the query alone.
    const GrpcAnswer header = grpc_check(
        f, check_request("GET", "/v1/datasets/orders/rows", {{"x-api-key", f.keys.viewer}}));
    CHECK(header.response.ok_response().query_parameters_to_remove_size() == 0);
}

// ---- the wire bytes: read as protobuf reads them --------------------------------------

namespace {

/// What keygate reads from `wire`, as text, or "malformed".
std::string reading(const std::string& wire) {
    CheckQuestion question;
    if (!read_check_request(wire, question))
        return "malformed";
    std::string out = question.target.method + " " + question.target.uri +
                      (question.target.ambiguous ? " ambiguous" : "") + " from " +
                      to_string(question.peer) + " body=" + std::string(question.body);
    for (const HeadField& field : question.fields)
        out += " [" + std::string(field.name) + "=" + std::string(field.value) + "]";
    return out;
}

/// The same bytes as protobuf reads them, written out again by protobuf.
std::string through_protobuf(const std::string& wire) {
    CheckRequest message;
    REQUIRE(message.ParseFromString(wire));
    return message.SerializeAsString();
}

} // namespace

TEST_CASE("grpc wire: repeated and merged fields read as protobuf merges them", "[grpc]") {
    // Concatenated messages are one message merged (the protobuf encoding guide): each case
    // must read the same as protobuf's own merge of the very bytes.
    CheckRequest first = check_request("GET", "/v1/a", {{"x-api-key", "one"}, {"x-a", "1"}});
    CheckRequest second;
    auto& http = *second.mutable_attributes()->mutable_request()->mutable_http();
    http.set_path("/v1/b");
    (*http.mutable_headers())["x-api-key"] = "two"; // the map's last value per key wins
    CheckRequest pipe;
    pipe.mutable_attributes()->mutable_source()->mutable_address()->mutable_pipe()->set_path("/p");
    CheckRequest socket = check_request("PUT", "/v1/c", {}, "198.51.100.7");
    CheckRequest raw = check_request("GET", "/v1/d", {});
    auto* header = raw.mutable_attributes()
                       ->mutable_request()
                       ->mutable_http()
                       ->mutable_header_map()
                       ->add_headers();
    header->set_key("x-api-key");
    header->set_value("three");
    const std::vector<std::string> cases{
        first.SerializeAsString() + second.SerializeAsString(),
        second.SerializeAsString() + first.SerializeAsString(),
        first.SerializeAsString() + pipe.SerializeAsString(), // the oneof: pipe last
        first.SerializeAsString() + pipe.SerializeAsString() + socket.SerializeAsString(),
        raw.SerializeAsString() + first.SerializeAsString(), // header_map wins
        first.SerializeAsString() + first.SerializeAsString(),
    };
    for (const std::string& wire : cases) {
        const std::string merged = through_protobuf(wire);
        INFO(reading(merged));
        CHECK(reading(wire) == reading(merged));
        CHECK(reading(wire) != "malformed");
    }
    CHECK(reading(cases[0]).find("[x-api-key=two]") != std::string::npos);
    CHECK(reading(cases[0]).find("/v1/b") != std::string::npos);
    CHECK(reading(cases[2]).find(" from ::") != std::string::npos);
    CHECK(reading(cases[3]).find("from 198.51.100.7") != std::string::npos);
    CHECK(reading(cases[4]).find("[x-api-key=three]") != std::string::npos);
}

TEST_CASE("grpc wire: a headers map entry has no raw_value", "[grpc]") {
    // attributes { request { http { headers { key "x-api-key", 3: "K1" } } } }: field 3 is
    // HeaderValue's raw_value, but no field of a map entry; protobuf drops it, so must keygate.
    const std::string entry = std::string("\x0a\x09x-api-key\x1a\x02K1", 15);
    const std::string http = "\x1a" + std::string(1, static_cast<char>(entry.size())) + entry;
    const std::string request = "\x12" + std::string(1, static_cast<char>(http.size())) + http;
    const std::string attributes =
        "\x22" + std::string(1, static_cast<char>(request.size())) + request;
    const std::string wire =
        "\x0a" + std::string(1, static_cast<char>(attributes.size())) + attributes;
    CHECK(reading(wire) == reading(through_protobuf(wire)));
    CHECK(reading(wire).find("[x-api-key=]") != std::string::npos);
}

TEST_CASE("grpc wire: unknown fields of every wire type are skipped", "[grpc]") {
    const std::string good =
        check_request("GET", "/v1/x", {{"x-api-key", "k"}}).SerializeAsString();
    const std::string expected = reading(good);
    // Field 99 as a varint, fixed64, string, group with contents, and fixed32; and a field
    // keygate reads (1: attributes) with the wrong wire type, which protobuf keeps as unknown.
    const std::string unknown = std::string("\x98\x06\x96\x01", 4) +               // 99 varint
                                std::string("\x99\x06", 2) + std::string(8, 'x') + // 99 fixed64
                                std::string("\x9a\x06\x03"
                                            "abc",
                                            6) +                             // 99 string
                                std::string("\x9b\x06\x08\x01\x9c\x06", 6) + // 99 group
                                std::string("\x9d\x06", 2) +
                                std::string(4, 'y') +       // 99 fixed32
                                std::string("\x08\x05", 2); // 1 as varint
    for (const std::string& wire : {unknown + good, good + unknown}) {
        CHECK(reading(wire) == expected);
        CHECK(reading(wire) == reading(through_protobuf(wire)));
    }
}

TEST_CASE("grpc wire: malformed bytes are refused, as protobuf refuses them", "[grpc]") {
    const std::string good =
        check_request("GET", "/v1/x", {{"x-api-key", "k"}}).SerializeAsString();
    const auto groups = [](int depth) {
        std::string out;
        for (int i = 0; i < depth; ++i)
            out += "\xc3\x3e"; // field 1000, start group
        for (int i = 0; i < depth; ++i)
            out += "\xc4\x3e"; // its end
        return out;
    };
    CHECK(reading(good + groups(wire::k_max_group_depth)) == reading(good));
    const std::vector<std::pair<std::string, std::string>> cases{
        {"truncated", good.substr(0, good.size() - 3)},
        {"a length beyond the end", std::string("\x0a\x7f", 2)},
        {"a varint cut short", std::string("\x08\xff", 2)},
        {"an 11-byte varint", std::string("\x08") + std::string(10, '\xff') + "\x01"},
        {"field number 0", std::string("\x02\x00", 2)},
        {"a tag of six bytes", std::string("\x88\x80\x80\x80\x80\x00\x05", 7)},
        {"field number 0 after a five-byte tag kept to 32 bits",
         std::string("\x80\x80\x80\x80\x10\x05", 6)},
        {"wire type 6", std::string("\x0e")},
        {"wire type 7", std::string("\x0f")},
        {"an end group with no group", std::string("\x0c")},
        {"a group closed by another number", std::string("\xc3\x3e\xcc\x3e")},
        {"a group never closed", std::string("\xc3\x3e")},
        {"groups nested too deep", groups(wire::k_max_group_depth + 1)},
        {"malformed inside a header entry",
         good + std::string("\x0a\x08\x22\x06\x12\x04\x1a\x02\x0a\x7f", 10)},
    };
    for (const auto& [what, wire] : cases) {
        INFO(what);
        CHECK(reading(wire) == "malformed");
        CheckRequest message;
        CHECK_FALSE(message.ParseFromString(wire)); // protobuf refuses it too
    }
}

TEST_CASE("grpc wire: a five-byte tag is kept to 32 bits, as protobuf keeps it", "[grpc]") {
    // Found by fuzz_check_request: c8 c7 c7 ce 38 is a varint above 2^32; protobuf keeps its
    // low 32 bits (unknown field 289029241, a varint) where keygate refused the request.
    const std::string good =
        check_request("GET", "/v1/x", {{"x-api-key", "k"}}).SerializeAsString();
    for (const std::string& unknown :
         {std::string("\xc8\xc7\xc7\xce\x38\x2d", 6), std::string("\xf8\xff\xff\xff\x7f\x01", 6)}) {
        CheckRequest message;
        REQUIRE(message.ParseFromString(unknown + good));
        CHECK(reading(unknown + good) == reading(good));
        CHECK(reading(good + unknown) == reading(good));
    }
}

TEST_CASE("grpc wire: strings are read as bytes, not refused when not UTF-8", "[grpc]") {
    Fixture f;
    // protobuf refuses a proto3 string that is not UTF-8; keygate decides it as /auth/envoy
    // decides the same bytes (obs-text in a header value, an ambiguous path).
    std::string wire = check_request("GET", "/v1/datasets/orders/rows",
                                     {{"x-api-key", f.keys.viewer}, {"x-note", "~~"}})
                           .SerializeAsString();
    wire.replace(wire.find("~~"), 2, "\xc0\xae");
    CheckQuestion question;
    REQUIRE(read_check_request(wire, question));
    http::Response answer;
    const AuthSummary summary = f.api->answer_question(question.question(), answer);
    CHECK(summary.code == DecisionCode::ok);
    std::string path_wire =
        check_request("GET", "/v1/datasets/~~/rows", {{"x-api-key", f.keys.viewer}})
            .SerializeAsString();
    for (auto at = path_wire.find("~~"); at != std::string::npos; at = path_wire.find("~~"))
        path_wire.replace(at, 2, "\xc0\xae"); // http.path and the :path header
    REQUIRE(read_check_request(path_wire, question));
    http::Response path_answer;
    CHECK(f.api->answer_question(question.question(), path_answer).code ==
          DecisionCode::invalid_request);
}

TEST_CASE("grpc wire: nested lengths of one, two and three bytes", "[grpc]") {
    for (const std::size_t size : {0UL, 127UL, 128UL, 16383UL, 16384UL, 70000UL}) {
        INFO("body of " << size);
        std::string out;
        wire::Writer writer(out);
        const std::size_t denied = writer.open(2);
        const std::size_t status = writer.open(1);
        writer.varint(1, 403);
        writer.close(status);
        if (size > 0)
            writer.bytes(3, std::string(size, 'b')); // proto3 leaves an empty string out
        writer.close(denied);
        writer.bytes(99, "after"); // an unknown field after it: the lengths must be exact
        CheckResponse response;
        REQUIRE(response.ParseFromString(out));
        CHECK(response.denied_response().status().code() == 403);
        CHECK(response.denied_response().body().size() == size);
        CHECK(response.ByteSizeLong() == out.size()); // canonical: no padded length
    }
}

TEST_CASE("grpc wire: response headers of every length are written with exact lengths", "[grpc]") {
    // write_set_header() computes each HeaderValueOption's sizes before writing it: names
    // and values around the one-, two- and three-byte length boundaries must come out as
    // protobuf reads and sizes them.
    for (const std::size_t size : {0, 1, 100, 117, 118, 127, 128, 300, 16'371, 16'384, 70'000}) {
        INFO("value of " << size);
        http::Response answer;
        const std::string value(size, 'v');
        const std::string name = "X-Auth-" + std::string(size % 200, 'N');
        answer.set_header(name, value);
        answer.set_header("X-RateLimit-Limit", value);
        answer.set_header("X-Auth-Tenant", "acme");
        AuthSummary summary;
        summary.decided = true;
        summary.code = DecisionCode::ok;
        summary.key_header = "X-API-Key";
        const CheckQuestion question;
        std::string out;
        write_check_response(answer, summary, question, out);
        CheckResponse response;
        REQUIRE(response.ParseFromString(out));
        CHECK(response.ByteSizeLong() == out.size()); // exact lengths, none padded
        std::string lower_name = name;
        for (char& c : lower_name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto& ok = response.ok_response();
        REQUIRE(ok.headers_size() == 2); // X-Auth-*, in the order set
        CHECK(ok.headers(0).header().key() == lower_name);
        CHECK(ok.headers(0).header().value() == value);
        CHECK(ok.headers(1).header().key() == "x-auth-tenant");
        CHECK(header_map(ok.headers()).size() == 2); // each with append false
        REQUIRE(ok.response_headers_to_add_size() == 1);
        CHECK(ok.response_headers_to_add(0).header().key() == "x-ratelimit-limit");
        CHECK(ok.response_headers_to_add(0).header().value() == value);
        CHECK_FALSE(ok.response_headers_to_add(0).append().value());

        // Denied: every header of the answer in the DeniedHttpResponse.
        answer.status = 403;
        summary.code = DecisionCode::dataset_forbidden;
        out.clear();
        write_check_response(answer, summary, question, out);
        REQUIRE(response.ParseFromString(out));
        CHECK(response.ByteSizeLong() == out.size());
        REQUIRE(response.denied_response().headers_size() == 3);
        CHECK(response.denied_response().headers(0).header().value() == value);
        CHECK(response.denied_response().headers(1).header().key() == "x-ratelimit-limit");
    }
}

TEST_CASE("grpc check: thousands of client X-Auth-* names are each removed once", "[grpc]") {
    // header_map keeps repeats, so a client may send many x-auth-* names, in any case and
    // repeated: each unvouched name once in headers_to_remove, lower case; keygate's own
    // and the key header never. (The removal keeps a set: the list grows linearly.)
    CheckQuestion question;
    std::vector<std::string> names;
    for (int i = 0; i < 5'000; ++i) {
        names.push_back("X-Auth-Forged-" + std::to_string(i));
        names.push_back("x-auth-forged-" + std::to_string(i)); // the same name again
    }
    names.emplace_back("X-AUTH-TENANT"); // keygate sets it: not removed
    names.emplace_back("x-api-key");
    for (const std::string& name : names)
        question.fields.push_back(HeadField{name, "v"});
    http::Response answer;
    answer.set_header("X-Auth-Tenant", "acme");
    AuthSummary summary;
    summary.decided = true;
    summary.code = DecisionCode::ok;
    summary.key_header = "X-API-Key";
    std::string out;
    write_check_response(answer, summary, question, out);
    CheckResponse response;
    REQUIRE(response.ParseFromString(out));
    const auto& removed = response.ok_response().headers_to_remove();
    REQUIRE(removed.size() == 5'001); // the key header and each forged name once
    CHECK(removed[0] == "x-api-key");
    std::set<std::string> unique(removed.begin(), removed.end());
    CHECK(unique.size() == 5'001);
    CHECK(unique.count("x-auth-forged-0") == 1);
    CHECK(unique.count("x-auth-forged-4999") == 1);
    CHECK(unique.count("x-auth-tenant") == 0);
    CHECK(unique.count("X-Auth-Forged-0") == 0); // lower case only
}
