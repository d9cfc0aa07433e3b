// The endpoint filter of src/server/http_api.* (KEYGATE_ADMIN_LISTEN): which endpoints each
// listener role answers, that an endpoint a listener does not serve is the 404 of an unknown
// path there, and that admin authentication and metrics stay what they are on either.
#include "core/config_loader.hpp"
#include "infra/audit_sink.hpp"
#include "infra/key_set_holder.hpp"
#include "infra/metrics.hpp"
#include "infra/usage_tracker.hpp"
#include "server/admission_control.hpp"
#include "server/http_api.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <string>

using namespace keygate;

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

/// An HttpApi of one role over an analyst key and an admin key, with every operations hook
/// set (as `serve` wires them), so that each endpoint answers 200 where it is served.
struct Fixture {
    std::string analyst = fresh_key();
    std::string admin = fresh_key();
    KeySetHolder holder;
    MemoryAuditSink audit;
    UsageTracker usage;
    UsageTrackerAdmission admission{usage};
    Metrics metrics;
    OperationsHooks operations;
    std::atomic<bool> draining{false};
    HttpApi api;

    explicit Fixture(ListenerRole role)
        : api(HttpApiDeps{holder, audit, &admission, now_ms, &operations}, HttpApiLimits{}, role) {
        LoadResult load = load_config_text(R"(version: 1
settings: {trusted_proxies: ["127.0.0.1/32"]}
tenants:
  acme_corp: {allowed_datasets: [orders]}
api_keys:
  - {id: acme-analysts, key: ")" + analyst + R"(", tenant: acme_corp, role: analyst}
  - {id: ops-admin, key: ")" + admin + R"(", role: admin}
)",
                                           LoadOptions{});
        REQUIRE(load.config);
        holder.publish(KeyStore::build(std::move(*load.config)));
        operations.metrics = &metrics;
        operations.metrics_text = [this] {
            Metrics::Scrape scrape;
            return metrics.render(scrape);
        };
        operations.status = [] { return nlohmann::ordered_json{{"generation", 1}}; };
        operations.reload = [] { return nlohmann::ordered_json{{"result", "unchanged"}}; };
        operations.access_event = [](nlohmann::ordered_json) {};
        operations.key_usage = [](const ResolvedKey&) {
            return nlohmann::ordered_json{{"key_id", "acme-analysts"}};
        };
        operations.report = [](const ReportWindows&) {
            return nlohmann::ordered_json{{"expiring", nlohmann::ordered_json::array()}};
        };
        operations.draining = [this] { return draining.load(); };
    }

    /// Answers one request from 127.0.0.1, with `key` in X-API-Key when not empty.
    http::Response send(std::string method, std::string target, const std::string& key = "",
                        std::string body = "") {
        http::Request req;
        req.method = std::move(method);
        req.target = std::move(target);
        req.path = req.target.substr(0, req.target.find('?'));
        req.version = "HTTP/1.1";
        req.remote_addr = "127.0.0.1";
        req.body = std::move(body);
        req.add_header("Host", "keygate");
        if (!key.empty())
            req.add_header("X-API-Key", key);
        req.add_header("X-Original-URI", "/v1/datasets/orders/rows");
        req.add_header("X-Forwarded-Uri", "/v1/datasets/orders/rows");
        http::Response res;
        api.answer(req, res);
        return res;
    }

    bool on_loop(std::string target) const {
        http::Request req;
        req.method = "GET";
        req.target = std::move(target);
        req.path = req.target;
        return api.answers_on_loop(req);
    }
};

/// One request of each endpoint, answered 200 or 202 where the endpoint is served.
struct Call {
    const char* name;
    const char* method;
    const char* target;
    bool admin_key; ///< the admin key (else the analyst key)
    const char* body;
    bool on_main;  ///< served by ListenerRole::main
    bool on_admin; ///< served by ListenerRole::admin
};

constexpr Call k_calls[] = {
    {"/auth", "GET", "/auth", false, "", true, false},
    {"/auth/nginx", "GET", "/auth/nginx", false, "", true, false},
    {"/auth/forward", "GET", "/auth/forward", false, "", true, false},
    {"/auth/envoy", "GET", "/auth/envoy/v1/datasets/orders/rows", false, "", true, false},
    {"/v1/authorize", "POST", "/v1/authorize", false, R"({"dataset":"orders"})", true, false},
    {"/v1/audit", "POST", "/v1/audit", false, R"({"endpoint":"/v1/query"})", true, false},
    {"/healthz", "GET", "/healthz", false, "", true, true},
    {"/readyz", "GET", "/readyz", false, "", true, true},
    {"/metrics", "GET", "/metrics", false, "", false, true},
    {"/v1/status", "GET", "/v1/status", true, "", false, true},
    {"/v1/reload", "POST", "/v1/reload", true, "", false, true},
    {"/v1/keys", "GET", "/v1/keys", true, "", false, true},
    {"/v1/keys/{id}", "GET", "/v1/keys/acme-analysts", true, "", false, true},
    {"/v1/keys/{id}/usage", "GET", "/v1/keys/acme-analysts/usage", true, "", false, true},
    {"/v1/report", "GET", "/v1/report?expiring=7d", true, "", false, true},
};

void check_calls(ListenerRole role) {
    Fixture f(role);
    const http::Response unknown = f.send("GET", "/no/such/endpoint");
    REQUIRE(unknown.status == 404);
    for (const Call& call : k_calls) {
        const bool served = role == ListenerRole::all ||
                            (role == ListenerRole::main ? call.on_main : call.on_admin);
        INFO(call.name << (served ? " served" : " not served"));
        const http::Response res =
            f.send(call.method, call.target, call.admin_key ? f.admin : f.analyst, call.body);
        if (served) {
            CHECK((res.status == 200 || res.status == 202));
            continue;
        }
        // Exactly the answer of an unknown path (/auth/nginx too, whose errors are else 403).
        CHECK(res.status == 404);
        CHECK(res.body == unknown.body);
        CHECK(res.get_header_value("X-Auth-Error-Code") == "NOT_FOUND");
        CHECK(res.get_header_value("Content-Type") == unknown.get_header_value("Content-Type"));
    }
}

} // namespace

TEST_CASE("http api: without an admin listener every endpoint is served", "[http_api]") {
    check_calls(ListenerRole::all);
}

TEST_CASE("http api: beside an admin listener the main one keeps decisions and probes",
          "[http_api]") {
    check_calls(ListenerRole::main);
}

TEST_CASE("http api: the admin listener serves /metrics, the admin API and the probes only",
          "[http_api]") {
    check_calls(ListenerRole::admin);
}

TEST_CASE("http api: a path not served is never decided nor audited", "[http_api]") {
    Fixture f(ListenerRole::admin);
    const std::size_t before = f.audit.records().size();
    CHECK(f.send("GET", "/auth/nginx", f.analyst).status == 404);
    CHECK(f.send("POST", "/v1/authorize", f.analyst, R"({"dataset":"orders"})").status == 404);
    CHECK(f.audit.records().size() == before);
    // Not a decision there: answered where an unknown path is (the pool), not on the loop.
    CHECK_FALSE(f.on_loop("/auth/nginx"));
    CHECK(f.on_loop("/readyz"));

    Fixture main(ListenerRole::main);
    CHECK(main.on_loop("/auth/nginx"));
    CHECK_FALSE(main.on_loop("/metrics"));
}

TEST_CASE("http api: admin authentication is the same on the admin listener", "[http_api]") {
    Fixture f(ListenerRole::admin);
    const http::Response missing = f.send("GET", "/v1/status");
    CHECK(missing.status == 401);
    CHECK(missing.get_header_value("X-Auth-Error-Code") == "MISSING_KEY");
    const http::Response analyst = f.send("GET", "/v1/keys", f.analyst);
    CHECK(analyst.status == 403);
    CHECK(analyst.get_header_value("X-Auth-Error-Code") == "INSUFFICIENT_PERMISSION");
    CHECK(f.send("GET", "/v1/status", f.admin).status == 200);
    CHECK(f.send("GET", "/v1/reload", f.admin).status == 405);

    // Counted as before: the two refusals under endpoint="/auth", no new label.
    const std::string text = f.send("GET", "/metrics").body;
    CHECK(text.find(
              R"(keygate_requests_total{endpoint="/auth",decision="deny",code="MISSING_KEY"} 1)") !=
          std::string::npos);
    CHECK(
        text.find(
            R"(keygate_requests_total{endpoint="/auth",decision="deny",code="INSUFFICIENT_PERMISSION"} 1)") !=
        std::string::npos);
    CHECK(text.find("listener") == std::string::npos);
}

TEST_CASE("http api: /readyz says draining on both listeners", "[http_api]") {
    for (const ListenerRole role : {ListenerRole::main, ListenerRole::admin}) {
        Fixture f(role);
        CHECK(f.send("GET", "/readyz").status == 200);
        f.draining = true;
        const http::Response res = f.send("GET", "/readyz");
        CHECK(res.status == 503);
        CHECK(res.body == R"({"status":"draining"})");
        CHECK(f.send("GET", "/healthz").status == 200);
    }
}
