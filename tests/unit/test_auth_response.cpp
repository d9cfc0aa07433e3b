// Decision -> HTTP answer: statuses per proxy, identity headers, error body and headers.
#include "core/config_loader.hpp"
#include "core/key_store.hpp"
#include "server/auth_response.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace keygate;

namespace {

std::shared_ptr<const KeyStore> store_of(std::string_view yaml) {
    LoadResult loaded = load_config_text(yaml, LoadOptions{});
    REQUIRE(loaded.config);
    return KeyStore::build(std::move(*loaded.config));
}

constexpr std::string_view k_keys = R"(
tenants:
  acme_corp: {allowed_datasets: [orders, cust*]}
api_keys:
  - id: acme-analysts
    key: "pk_acme_test0001analysts"
    tenant: acme_corp
    role: analyst
    denied_datasets: [orders_raw, secret_*]
  - id: ops-admin
    key: "pk_ops_test0002admin"
    role: admin
)";

std::string header(const http::Response& res, const char* name) {
    REQUIRE(res.get_header_value_count(name) == 1);
    return res.get_header_value(name);
}

} // namespace

TEST_CASE("statuses: nginx never sees 429", "[auth_response]") {
    CHECK(answer_status(DecisionCode::ok, StatusStyle::nginx) == 200);
    CHECK(answer_status(DecisionCode::missing_key, StatusStyle::nginx) == 401);
    CHECK(answer_status(DecisionCode::dataset_forbidden, StatusStyle::nginx) == 403);
    CHECK(answer_status(DecisionCode::rate_limited, StatusStyle::nginx) == 403);
    CHECK(answer_status(DecisionCode::rate_limited, StatusStyle::standard) == 429);
}

TEST_CASE("header values are sanitised", "[auth_response]") {
    CHECK(sanitize_header_value("Not authorized for dataset 'a\r\nSet-Cookie: x'") ==
          "Not authorized for dataset 'a??Set-Cookie: x'");
    CHECK(sanitize_header_value(std::string_view("\x00\x7f\xff\t ok", 7)) == "???? ok");
    CHECK(sanitize_header_value(std::string(1000, 'a')).size() == 256);
    CHECK(sanitize_header_value("abc", 2) == "ab");
}

TEST_CASE("error bodies are JSON whatever the detail", "[auth_response]") {
    CHECK(error_body("MISSING_KEY", "API key required") ==
          R"({"detail":"API key required","code":"MISSING_KEY"})");
    const auto parsed = nlohmann::json::parse(error_body("X", "a\"\r\n\xff"));
    CHECK(parsed["detail"] == "a\"\r\n\xEF\xBF\xBD");
}

TEST_CASE("allowed: identity headers, empty body", "[auth_response]") {
    const auto store = store_of(k_keys);
    Decision decision;
    decision.code = DecisionCode::ok;
    decision.key = store->find_by_id("acme-analysts");
    http::Response res;
    write_decision(res, decision, nullptr, "X-API-Key", StatusStyle::standard);
    CHECK(res.status == 200);
    CHECK(res.body.empty());
    CHECK(header(res, "X-Auth-Key-Id") == "acme-analysts");
    CHECK(header(res, "X-Auth-Tenant") == "acme_corp");
    CHECK(header(res, "X-Auth-Role") == "analyst");
    CHECK(header(res, "X-Auth-Permissions") == "read,write");
    CHECK(header(res, "X-Auth-Datasets") == "orders,cust*");
    CHECK(header(res, "X-Auth-Datasets-Denied") == "orders_raw,secret_*");
    CHECK(header(res, "X-Auth-RLS") == "apply");
    CHECK_FALSE(res.has_header("X-Auth-Key-Grace-Until"));
    CHECK_FALSE(res.has_header("X-Auth-Error-Code"));
    CHECK_FALSE(res.has_header("X-RateLimit-Limit"));

    Decision admin;
    admin.code = DecisionCode::ok;
    admin.key = store->find_by_id("ops-admin");
    admin.source = SecretSource::previous;
    admin.grace_until = parse_timestamp("2030-01-02T03:04:05Z").value();
    http::Response admin_res;
    write_decision(admin_res, admin, nullptr, "X-API-Key", StatusStyle::nginx);
    CHECK_FALSE(admin_res.has_header("X-Auth-Tenant"));
    CHECK_FALSE(admin_res.has_header("X-Auth-Datasets-Denied"));
    CHECK(header(admin_res, "X-Auth-Datasets") == "*");
    CHECK(header(admin_res, "X-Auth-RLS") == "bypass");
    CHECK(header(admin_res, "X-Auth-Permissions") == "read,write,admin");
    CHECK(header(admin_res, "X-Auth-Key-Grace-Until") == "2030-01-02T03:04:05Z");
    CHECK(header(admin_res, "Sunset") == "Wed, 02 Jan 2030 03:04:05 GMT");
}

TEST_CASE("denied: JSON body, error headers, WWW-Authenticate on 401", "[auth_response]") {
    Decision missing;
    missing.code = DecisionCode::missing_key;
    http::Response res;
    write_decision(res, missing, nullptr, "X-Token", StatusStyle::standard);
    CHECK(res.status == 401);
    CHECK(res.body == R"({"detail":"API key required","code":"MISSING_KEY"})");
    CHECK(header(res, "Content-Type") == "application/json");
    CHECK(header(res, "X-Auth-Error-Code") == "MISSING_KEY");
    CHECK(header(res, "X-Auth-Error-Detail") == "API key required");
    CHECK(header(res, "WWW-Authenticate") == R"(ApiKey header="X-Token")");
    CHECK_FALSE(res.has_header("X-Auth-Key-Id"));

    Decision dataset;
    dataset.code = DecisionCode::dataset_forbidden;
    dataset.dataset = "a\r\nb";
    http::Response denied;
    write_decision(denied, dataset, nullptr, "X-API-Key", StatusStyle::standard);
    CHECK(denied.status == 403);
    CHECK_FALSE(denied.has_header("WWW-Authenticate"));
    CHECK(header(denied, "X-Auth-Error-Detail") == "Not authorized for dataset 'a??b'");
    CHECK(nlohmann::json::parse(denied.body)["detail"] == "Not authorized for dataset 'a\r\nb'");
}

TEST_CASE("rate limits: headers, Retry-After, nginx 403", "[auth_response]") {
    RateLimitView view;
    view.limit = 100;
    view.remaining = 0;
    view.reset_seconds = 42;
    view.policy = R"("minute";q=100;w=60)";
    view.ratelimit = R"("minute";r=0;t=42)";
    view.retry_after = 0;
    Decision limited;
    limited.code = DecisionCode::rate_limited;
    http::Response res;
    write_decision(res, limited, &view, "X-API-Key", StatusStyle::nginx);
    CHECK(res.status == 403);
    CHECK(header(res, "X-Auth-Error-Code") == "RATE_LIMITED");
    CHECK(header(res, "X-Auth-Error-Detail") == "Rate limit exceeded");
    CHECK(header(res, "X-RateLimit-Limit") == "100");
    CHECK(header(res, "X-RateLimit-Remaining") == "0");
    CHECK(header(res, "X-RateLimit-Reset") == "42");
    CHECK(header(res, "RateLimit-Policy") == R"("minute";q=100;w=60)");
    CHECK(header(res, "RateLimit") == R"("minute";r=0;t=42)");
    CHECK(header(res, "Retry-After") == "1"); // at least 1

    http::Response standard;
    write_decision(standard, limited, &view, "X-API-Key", StatusStyle::standard);
    CHECK(standard.status == 429);
}
