// Every row of CONTRACT §5 through /auth, /auth/nginx, /auth/envoy and /v1/authorize, on a
// real server: status, code, detail, headers and body.
#include "server_harness.hpp"

#include <nlohmann/json.hpp>

using namespace keygate;
using namespace keygate::testing;
using json = nlohmann::json;

namespace {

enum class Via { auth, nginx, forward, envoy, authorize };

const char* name_of(Via via) {
    switch (via) {
    case Via::auth:
        return "/auth";
    case Via::nginx:
        return "/auth/nginx";
    case Via::forward:
        return "/auth/forward";
    case Via::envoy:
        return "/auth/envoy";
    case Via::authorize:
        return "/v1/authorize";
    }
    return "?";
}

/// One question, asked the way each endpoint's proxy asks it.
struct Ask {
    Ask(std::optional<std::string> key_ = std::nullopt, std::string method_ = "GET",
        std::string uri_ = "/v1/datasets/orders/rows",
        std::optional<std::string> client_ip_ = std::nullopt)
        : key(std::move(key_)), method(std::move(method_)), uri(std::move(uri_)),
          client_ip(std::move(client_ip_)) {}
    std::optional<std::string> key;
    std::string method;
    std::string uri;
    std::optional<std::string> client_ip;
};

std::string ask_request(Via via, const Ask& ask) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (ask.key)
        headers.emplace_back("X-API-Key", *ask.key);
    switch (via) {
    case Via::auth:
    case Via::nginx:
        headers.emplace_back("X-Original-Method", ask.method);
        headers.emplace_back("X-Original-URI", ask.uri);
        if (ask.client_ip)
            headers.emplace_back("X-Real-IP", *ask.client_ip);
        return http_request("GET", via == Via::auth ? "/auth" : "/auth/nginx", headers);
    case Via::forward:
        // Traefik and Caddy: X-Forwarded-Method / X-Forwarded-Uri.
        headers.emplace_back("X-Forwarded-Method", ask.method);
        headers.emplace_back("X-Forwarded-Uri", ask.uri);
        if (ask.client_ip)
            headers.emplace_back("X-Real-IP", *ask.client_ip);
        return http_request("GET", "/auth/forward", headers);
    case Via::envoy:
        if (ask.client_ip)
            headers.emplace_back("X-Forwarded-For", *ask.client_ip);
        return http_request(ask.method, "/auth/envoy" + ask.uri, headers);
    case Via::authorize: {
        json body = {{"method", ask.method}, {"path", ask.uri}};
        if (ask.client_ip)
            body["client_ip"] = *ask.client_ip;
        headers.emplace_back("Content-Type", "application/json");
        return http_request("POST", "/v1/authorize", headers, body.dump());
    }
    }
    return {};
}

/// Checks a denial: status, JSON body, error headers, WWW-Authenticate on 401.
void check_denied(Via via, const HttpResponse& res, int status, const std::string& code,
                  const std::string& detail) {
    INFO(name_of(via) << " " << code << "\n" << res.head << "\n\n" << res.body);
    const int expected_status =
        (via == Via::nginx && (status == 429 || status == 400)) ? 403 : status;
    CHECK(res.status == expected_status);
    CHECK(res.header("X-Auth-Error-Code") == code);
    CHECK(res.header("X-Auth-Error-Detail") == detail);
    CHECK(res.header("Content-Type") == "application/json");
    CHECK(res.count("X-Auth-Key-Id") == 0);
    if (status == 401) {
        CHECK(res.header("WWW-Authenticate") == R"(ApiKey header="X-API-Key")");
    } else {
        CHECK(res.count("WWW-Authenticate") == 0);
    }
    const json body = json::parse(res.body);
    if (via == Via::authorize) {
        CHECK(body["allowed"] == false);
        CHECK(body["code"] == code);
        CHECK(body["detail"] == detail);
        if (status == 401)
            CHECK(body["key_id"].is_null());
    } else {
        CHECK(body == json{{"detail", detail}, {"code", code}});
        CHECK(res.body ==
              R"({"detail":)" + json(detail).dump() + R"(,"code":)" + json(code).dump() + "}");
    }
}

/// Checks an allowed answer for the acme-bi key.
void check_allowed_bi(Via via, const HttpResponse& res) {
    INFO(name_of(via) << "\n" << res.head << "\n\n" << res.body);
    CHECK(res.status == 200);
    CHECK(res.header("X-Auth-Key-Id") == "acme-bi");
    CHECK(res.header("X-Auth-Tenant") == "acme_corp");
    CHECK(res.header("X-Auth-Role") == "viewer");
    CHECK(res.header("X-Auth-Permissions") == "read");
    CHECK(res.header("X-Auth-Datasets") == "orders");
    CHECK(res.count("X-Auth-Datasets-Denied") == 0);
    CHECK(res.header("X-Auth-RLS") == "apply");
    CHECK(res.count("X-Auth-Error-Code") == 0);
    CHECK(res.count("X-Auth-Key-Grace-Until") == 0);
    if (via == Via::authorize) {
        const json body = json::parse(res.body);
        CHECK(body["allowed"] == true);
        CHECK(body["key_id"] == "acme-bi");
        CHECK(body["tenant"] == "acme_corp");
        CHECK(body["role"] == "viewer");
        CHECK(body["rls"] == "apply");
        CHECK(body["permissions"] == json::array({"read"}));
        CHECK(body["datasets"] == json::array({"orders"}));
        CHECK(body["code"] == "OK");
        CHECK(body["detail"].is_null());
    } else {
        CHECK(res.body.empty());
    }
}

HttpResponse ask(const TestServer& server, Via via, const Ask& question) {
    return round_trip(server.port(), ask_request(via, question));
}

} // namespace

TEST_CASE("every row of the decision table through every endpoint", "[server][decisions]") {
    for (const Via via : {Via::auth, Via::nginx, Via::forward, Via::envoy, Via::authorize}) {
        DYNAMIC_SECTION(name_of(via)) {
            const TestServer server;
            check_allowed_bi(via, ask(server, via, {k_bi_key}));

            // Row 0: a URI two readers could read differently, whatever the key.
            for (const char* uri :
                 {"/v1/datasets/orders%3F/../customers/rows",
                  "/v1/datasets/orders%23/../customers/rows", "/v1/datasets/a%2Fb/rows",
                  "/v1/datasets/%2561/rows", "/v1/datasets/..;/customers/rows", "/../v1/x",
                  "/V1/DATASETS/customers/rows"}) {
                INFO(uri);
                check_denied(via, ask(server, via, {k_bi_key, "GET", uri}), 400, "INVALID_REQUEST",
                             "Invalid request");
                check_denied(via, ask(server, via, {std::nullopt, "GET", uri}), 400,
                             "INVALID_REQUEST", "Invalid request");
            }
            // Encoded but unambiguous: decoded once per segment.
            check_allowed_bi(via,
                             ask(server, via, {k_bi_key, "GET", "/v1/datasets/%6Frders/rows"}));
            check_denied(via, ask(server, via, {k_bi_key, "GET", "/v1/datasets/%63ustomers/rows"}),
                         403, "DATASET_FORBIDDEN", "Not authorized for dataset 'customers'");

            // Row 1 and 2.
            check_denied(via, ask(server, via, {}), 401, "MISSING_KEY", "API key required");
            check_denied(via, ask(server, via, {k_unknown_key}), 401, "INVALID_KEY",
                         "Invalid API key");
            check_denied(via, ask(server, via, {"not a key at all"}), 401, "INVALID_KEY",
                         "Invalid API key");
            // A previous secret past its expires_at is row 4.
            check_denied(via, ask(server, via, {k_rotated_gone_key}), 403, "KEY_EXPIRED",
                         "API key expired");
            // Row 3 and 4.
            check_denied(via, ask(server, via, {k_disabled_key}), 403, "KEY_DISABLED",
                         "API key disabled");
            check_denied(via, ask(server, via, {k_expired_key}), 403, "KEY_EXPIRED",
                         "API key expired");
            // Row 5: the trusted proxy (loopback) names the client.
            check_denied(via, ask(server, via, {k_office_key, "GET", "/v1/x", "10.2.0.1"}), 403,
                         "IP_NOT_ALLOWED", "IP not allowed");
            CHECK(ask(server, via, {k_office_key, "GET", "/v1/x", "10.1.2.3"}).status == 200);
            // Row 6 and 7.
            check_denied(via, ask(server, via, {k_bi_key, "POST", "/v1/datasets/orders/rows"}), 403,
                         "INSUFFICIENT_PERMISSION", "Insufficient permission: write");
            check_denied(via, ask(server, via, {k_bi_key, "GET", "/v1/datasets/customers/rows"}),
                         403, "DATASET_FORBIDDEN", "Not authorized for dataset 'customers'");
            check_denied(via, ask(server, via, {k_bi_key, "GET", "/v1/query?dataset=customers"}),
                         403, "DATASET_FORBIDDEN", "Not authorized for dataset 'customers'");
            // Row 8: rate_limit 2 per minute.
            for (int i = 0; i < 2; ++i) {
                const auto ok = ask(server, via, {k_limited_key});
                CHECK(ok.status == 200);
                CHECK(ok.header("X-RateLimit-Limit") == "2");
                CHECK(ok.header("X-RateLimit-Remaining") == std::to_string(1 - i));
                CHECK(ok.count("Retry-After") == 0);
            }
            const auto limited = ask(server, via, {k_limited_key});
            check_denied(via, limited, 429, "RATE_LIMITED", "Rate limit exceeded");
            CHECK(std::stoi(limited.header("Retry-After")) >= 1);
            CHECK(limited.header("RateLimit-Policy") == R"("minute";q=2;w=60)");
            CHECK(limited.header("X-RateLimit-Remaining") == "0");
        }
    }
}

TEST_CASE("a denied key answers with what the store knows about it", "[server][decisions]") {
    const TestServer server;
    const auto res = ask(server, Via::authorize, {k_disabled_key});
    const json body = json::parse(res.body);
    CHECK(body["key_id"] == "acme-disabled");
    CHECK(body["code"] == "KEY_DISABLED");
}

TEST_CASE("allowed answers: admin without tenant, denied patterns, grace secrets",
          "[server][decisions]") {
    const TestServer server;
    const auto admin = ask(server, Via::auth, {k_admin_key, "DELETE", "/admin/keys"});
    CHECK(admin.status == 200);
    CHECK(admin.header("X-Auth-Key-Id") == "ops-admin");
    CHECK(admin.count("X-Auth-Tenant") == 0);
    CHECK(admin.header("X-Auth-Role") == "admin");
    CHECK(admin.header("X-Auth-Permissions") == "read,write,admin");
    CHECK(admin.header("X-Auth-Datasets") == "*");
    CHECK(admin.header("X-Auth-RLS") == "bypass");

    const auto unrestricted = json::parse(ask(server, Via::authorize, {k_admin_key}).body);
    CHECK(unrestricted["datasets"] == json::array({"*"}));
    CHECK(unrestricted["tenant"].is_null());

    const auto analyst = ask(server, Via::nginx, {k_analyst_key, "POST", "/v1/datasets/orders/x"});
    CHECK(analyst.status == 200);
    CHECK(analyst.header("X-Auth-Datasets") == "orders,customers");
    CHECK(analyst.header("X-Auth-Datasets-Denied") == "orders_raw");
    CHECK(analyst.header("X-Auth-Permissions") == "read,write");

    const auto old = ask(server, Via::envoy, {k_rotated_old_key});
    CHECK(old.status == 200);
    CHECK(old.header("X-Auth-Key-Id") == "acme-rotated");
    CHECK(old.header("X-Auth-Key-Grace-Until") == "2999-01-01T00:00:00Z");
    CHECK(old.header("Sunset") == "Tue, 01 Jan 2999 00:00:00 GMT");
    const auto current = ask(server, Via::envoy, {k_rotated_key});
    CHECK(current.count("Sunset") == 0);
}

TEST_CASE("the key: header, bearer, both, conflict, configured header name",
          "[server][decisions]") {
    const TestServer server;
    const auto bearer = round_trip(
        server.port(), http_request("GET", "/auth", {{"Authorization", "Bearer " + k_bi_key}}));
    CHECK(bearer.status == 200);
    const auto both = round_trip(
        server.port(),
        http_request("GET", "/auth",
                     {{"X-API-Key", k_bi_key}, {"Authorization", "bearer " + k_bi_key}}));
    CHECK(both.status == 200);
    const auto conflict = round_trip(
        server.port(),
        http_request("GET", "/auth",
                     {{"X-API-Key", k_bi_key}, {"Authorization", "Bearer " + k_admin_key}}));
    CHECK(conflict.status == 401);
    CHECK(conflict.header("X-Auth-Error-Code") == "INVALID_KEY");
    const auto basic = round_trip(
        server.port(), http_request("GET", "/auth", {{"Authorization", "Basic dXNlcjpwYXNz"}}));
    CHECK(basic.header("X-Auth-Error-Code") == "MISSING_KEY");

    // ?api_key= counts only with allow_query_key.
    const auto query =
        round_trip(server.port(),
                   http_request("GET", "/auth", {{"X-Original-URI", "/v1/x?api_key=" + k_bi_key}}));
    CHECK(query.header("X-Auth-Error-Code") == "MISSING_KEY");

    TestServerConfig custom;
    custom.key_file = test_key_file("settings:\n  header: X-Token\n  allow_query_key: true\n");
    const TestServer renamed(custom);
    const auto token =
        round_trip(renamed.port(), http_request("GET", "/auth", {{"X-Token", k_bi_key}}));
    CHECK(token.status == 200);
    const auto old_name =
        round_trip(renamed.port(), http_request("GET", "/auth", {{"X-API-Key", k_bi_key}}));
    CHECK(old_name.status == 401);
    CHECK(old_name.header("WWW-Authenticate") == R"(ApiKey header="X-Token")");
    const auto query_key =
        round_trip(renamed.port(),
                   http_request("GET", "/auth", {{"X-Original-URI", "/v1/x?api_key=" + k_bi_key}}));
    CHECK(query_key.status == 200);
}

TEST_CASE("X-Dataset cannot hide the dataset of the path", "[server][decisions]") {
    const TestServer server;
    const auto hidden =
        round_trip(server.port(), http_request("GET", "/auth",
                                               {{"X-API-Key", k_bi_key},
                                                {"X-Original-URI", "/v1/datasets/customers/rows"},
                                                {"X-Dataset", "orders"}}));
    CHECK(hidden.status == 403);
    CHECK(hidden.header("X-Auth-Error-Detail") == "Not authorized for dataset 'customers'");
    const auto header_only =
        round_trip(server.port(), http_request("GET", "/auth",
                                               {{"X-API-Key", k_bi_key},
                                                {"X-Original-URI", "/v1/query"},
                                                {"X-Dataset", "customers"}}));
    CHECK(header_only.header("X-Auth-Error-Detail") == "Not authorized for dataset 'customers'");
    // A forwarded JSON body names a dataset too.
    const auto body =
        round_trip(server.port(), http_request("POST", "/auth",
                                               {{"X-API-Key", k_bi_key},
                                                {"X-Original-Method", "POST"},
                                                {"X-Original-URI", "/v1/query"},
                                                {"Content-Type", "application/json"}},
                                               R"({"dataset":"customers","sql":"select 1"})"));
    CHECK(body.status == 403);
    CHECK(body.header("X-Auth-Error-Detail") == "Not authorized for dataset 'customers'");
}

TEST_CASE("/v1/authorize: body fields, consume, bad bodies", "[server][decisions]") {
    const TestServer server;
    const auto post = [&](const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
        headers.emplace_back("Content-Type", "application/json");
        return round_trip(server.port(), http_request("POST", "/v1/authorize", headers, body));
    };
    const auto dataset = post(R"({"dataset":"customers","api_key":")" + k_bi_key + R"("})");
    CHECK(dataset.status == 403);
    CHECK(json::parse(dataset.body)["detail"] == "Not authorized for dataset 'customers'");

    const auto permission = post(R"({"permission":"admin"})", {{"X-API-Key", k_analyst_key}});
    CHECK(json::parse(permission.body)["detail"] == "Insufficient permission: admin");

    // consume: false never counts against the limit.
    for (int i = 0; i < 4; ++i) {
        CHECK(post(R"({"consume":false})", {{"X-API-Key", k_limited_key}}).status == 200);
    }
    CHECK(post("{}", {{"X-API-Key", k_limited_key}}).status == 200);

    const auto malformed = post("{not json", {{"X-API-Key", k_bi_key}});
    CHECK(malformed.status == 400);
    CHECK(malformed.body == R"({"detail":"Malformed JSON body","code":"BAD_REQUEST"})");
    CHECK(malformed.header("X-Auth-Error-Code") == "BAD_REQUEST");
    const auto wrong_type = post(R"({"path":["/"]})", {{"X-API-Key", k_bi_key}});
    CHECK(wrong_type.status == 400);
    CHECK(wrong_type.body == R"({"detail":"'path' must be a string","code":"BAD_REQUEST"})");

    const auto get = round_trip(server.port(), http_request("GET", "/v1/authorize"));
    CHECK(get.status == 405);
    CHECK(get.header("Allow") == "POST");
    // No body at all: the key from the header alone.
    const auto empty =
        round_trip(server.port(), http_request("POST", "/v1/authorize", {{"X-API-Key", k_bi_key}}));
    CHECK(empty.status == 200);
}

TEST_CASE("/v1/authorize: client_ip counts only from a trusted peer", "[server][decisions]") {
    const std::string body = R"({"client_ip":"10.1.2.3"})";
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"X-API-Key", k_office_key}, {"Content-Type", "application/json"}};
    const TestServer trusted;
    CHECK(round_trip(trusted.port(), http_request("POST", "/v1/authorize", headers, body)).status ==
          200);

    TestServerConfig untrusted_config;
    untrusted_config.trusted_proxies = std::vector<Cidr>{};
    const TestServer untrusted(untrusted_config);
    const auto res =
        round_trip(untrusted.port(), http_request("POST", "/v1/authorize", headers, body));
    CHECK(res.status == 403);
    CHECK(res.header("X-Auth-Error-Code") == "IP_NOT_ALLOWED");
}

TEST_CASE("decisions are audited with the endpoint and client", "[server][decisions]") {
    const TestServer server;
    round_trip(server.port(), http_request("GET", "/auth/nginx",
                                           {{"X-API-Key", k_bi_key},
                                            {"X-Original-URI", "/v1/datasets/orders/rows"},
                                            {"X-Real-IP", "203.0.113.9"}}));
    round_trip(server.port(),
               http_request("POST", "/v1/authorize", {{"Content-Type", "application/json"}},
                            R"({"path":"/v1/query"})"));
    round_trip(server.port(), http_request("POST", "/v1/authorize", {{"X-API-Key", k_bi_key}}));
    const auto records = server.audit().records();
    REQUIRE(records.size() == 3);
    CHECK(records[0].code == "OK");
    CHECK(records[0].key_id == "acme-bi");
    CHECK(records[0].endpoint == "/v1/datasets/orders/rows");
    CHECK(records[0].client_ip == "203.0.113.9");
    CHECK(records[0].status == 200);
    CHECK(records[1].code == "MISSING_KEY");
    CHECK(records[1].endpoint == "/v1/query");
    CHECK(records[1].status == 401);
    CHECK(records[2].endpoint == "/v1/authorize");
}

TEST_CASE("health, readiness, unknown paths, methods", "[server][decisions]") {
    const TestServer server;
    const auto health = round_trip(server.port(), http_request("GET", "/healthz"));
    CHECK(health.status == 200);
    CHECK(health.body == R"({"status":"ok"})");
    const auto ready = round_trip(server.port(), http_request("GET", "/readyz"));
    CHECK(ready.status == 200);
    CHECK(ready.body == R"({"status":"ready"})");
    const auto head = round_trip(server.port(), http_request("HEAD", "/healthz"));
    CHECK(head.status == 200);
    const auto post = round_trip(server.port(), http_request("POST", "/healthz"));
    CHECK(post.status == 405);
    CHECK(post.header("Allow") == "GET, HEAD");
    const auto missing = round_trip(server.port(), http_request("GET", "/nope"));
    CHECK(missing.status == 404);
    CHECK(missing.body == R"({"detail":"Not found","code":"NOT_FOUND"})");
    // /auth answers every method.
    for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
        INFO(method);
        const auto res =
            round_trip(server.port(), http_request(method, "/auth", {{"X-API-Key", k_bi_key}}));
        CHECK(res.status == 200);
        CHECK(res.header("X-Auth-Key-Id") == "acme-bi");
    }
}

TEST_CASE("not ready without a key set", "[server][decisions]") {
    TestServerConfig config;
    config.load_keys = false;
    const TestServer server(config);
    const auto ready = round_trip(server.port(), http_request("GET", "/readyz"));
    CHECK(ready.status == 503);
    CHECK(round_trip(server.port(), http_request("GET", "/healthz")).status == 200);
    const auto auth =
        round_trip(server.port(), http_request("GET", "/auth", {{"X-API-Key", k_bi_key}}));
    CHECK(auth.status == 503);
    CHECK(auth.header("X-Auth-Error-Code") == "NOT_READY");
    // nginx would turn a 503 into a 500: /auth/nginx says 403.
    const auto nginx =
        round_trip(server.port(), http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}}));
    CHECK(nginx.status == 403);
    CHECK(nginx.header("X-Auth-Error-Code") == "NOT_READY");
}
