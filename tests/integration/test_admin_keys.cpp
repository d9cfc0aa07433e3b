// GET /v1/keys, /v1/keys/{id}, /v1/keys/{id}/usage on a whole serve runtime: admin only,
// never a secret or a hash, usage counted by the requests the server decided.
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <filesystem>
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace keygate;
using namespace keygate::testing;

namespace {

const std::string k_ops_key = "admin-keys-it-admin";
const std::string k_viewer_key = "admin-keys-it-viewer";

std::string admin_keys_file() {
    return "api_keys:\n"
           "  - id: ops\n    key_hash: \"" +
           sha256_secret(k_ops_key) +
           "\"\n    role: admin\n"
           "  - id: acme-viewer\n    key: \"" +
           k_viewer_key +
           "\"\n    role: viewer\n"
           "    tenant: acme\n    rate_limit: 100\n    daily_limit: 1000\n"
           "    description: \"Acme dashboards\"\n";
}

} // namespace

TEST_CASE("admin keys: 401 without a key, 403 without admin, 405 for other methods",
          "[admin][it]") {
    TempDir dir;
    Running server(dir.write("keys.yaml", admin_keys_file()));
    httplib::Client client("127.0.0.1", server.runtime->port());
    for (const char* path : {"/v1/keys", "/v1/keys/acme-viewer", "/v1/keys/acme-viewer/usage"}) {
        INFO(path);
        auto res = client.Get(path);
        REQUIRE(res);
        CHECK(res->status == 401);
        CHECK(res->get_header_value("X-Auth-Error-Code") == "MISSING_KEY");
        res = client.Get(path, {{"X-API-Key", "admin-keys-it-unknown"}});
        REQUIRE(res);
        CHECK(res->status == 401);
        CHECK(res->get_header_value("X-Auth-Error-Code") == "INVALID_KEY");
        res = client.Get(path, {{"X-API-Key", k_viewer_key}});
        REQUIRE(res);
        CHECK(res->status == 403);
        CHECK(res->body ==
              R"({"detail":"Insufficient permission: admin","code":"INSUFFICIENT_PERMISSION"})");
        res = client.Delete(path, {{"X-API-Key", k_ops_key}});
        REQUIRE(res);
        CHECK(res->status == 405);
        CHECK(res->get_header_value("Allow") == "GET, HEAD");
    }
}

TEST_CASE("admin keys: list, one key, 404 for an unknown id, no secret or hash", "[admin][it]") {
    TempDir dir;
    Running server(dir.write("keys.yaml", admin_keys_file()));
    httplib::Client client("127.0.0.1", server.runtime->port());
    const httplib::Headers admin{{"X-API-Key", k_ops_key}};

    auto res = client.Get("/v1/keys", admin);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    auto body = nlohmann::json::parse(res->body);
    CHECK(body["count"] == 2);
    CHECK(body["keys"][0]["id"] == "ops");
    CHECK(body["keys"][0]["secret_format"] == "sha256");
    CHECK(body["keys"][1]["id"] == "acme-viewer");
    CHECK(body["keys"][1]["secret_format"] == "plaintext");
    CHECK(body["keys"][1]["description"] == "Acme dashboards");
    CHECK(body["keys"][1]["state"] == "active");
    for (const std::string& secret :
         {k_ops_key, k_viewer_key, sha256_secret(k_ops_key), sha256_secret(k_viewer_key),
          sha256_secret(k_ops_key).substr(7, 12), sha256_secret(k_viewer_key).substr(7, 12)}) {
        CHECK(res->body.find(secret) == std::string::npos);
    }

    res = client.Get("/v1/keys/acme-viewer", admin);
    REQUIRE(res);
    CHECK(res->status == 200);
    body = nlohmann::json::parse(res->body);
    CHECK(body["id"] == "acme-viewer");
    CHECK(body["tenant"] == "acme");
    CHECK(body["rate_limit"] == 100);
    CHECK(res->body.find(k_viewer_key) == std::string::npos);

    for (const char* path : {"/v1/keys/nobody", "/v1/keys/nobody/usage", "/v1/keys/acme-viewer/x",
                             "/v1/keys/acme-viewer/usage/x"}) {
        INFO(path);
        res = client.Get(path, admin);
        REQUIRE(res);
        CHECK(res->status == 404);
        CHECK(res->get_header_value("Content-Type") == "application/json");
    }
}

TEST_CASE("admin keys: usage counts the decisions the server made", "[admin][it]") {
    TempDir dir;
    Running server(dir.write("keys.yaml", admin_keys_file()));
    httplib::Client client("127.0.0.1", server.runtime->port());
    const httplib::Headers admin{{"X-API-Key", k_ops_key}};

    auto res = client.Get("/v1/keys/acme-viewer/usage", admin);
    REQUIRE(res);
    CHECK(res->status == 200);
    auto body = nlohmann::ordered_json::parse(res->body);
    CHECK(body["key_id"] == "acme-viewer");
    CHECK(body["total_requests"] == 0);
    CHECK(body["last_used"].is_null());
    CHECK(body["remaining"] == 100);

    for (int i = 0; i < 3; ++i)
        CHECK(server.status_for(k_viewer_key) == 200);
    // A denied decision counts in total_requests but consumes nothing.
    res = client.Post("/v1/authorize", {{"X-API-Key", k_viewer_key}}, R"({"permission":"write"})",
                      "application/json");
    REQUIRE(res);
    CHECK(res->status == 403);

    res = client.Get("/v1/keys/acme-viewer/usage", admin);
    REQUIRE(res);
    body = nlohmann::ordered_json::parse(res->body);
    const std::vector<std::string> fields{"key_id",         "window_start",        "request_count",
                                          "rate_limit",     "remaining",           "reset_at",
                                          "daily_count",    "daily_limit",         "last_used",
                                          "total_requests", "avg_requests_per_day"};
    std::vector<std::string> keys;
    for (const auto& [name, value] : body.items())
        keys.push_back(name);
    CHECK(keys == fields);
    CHECK(body["request_count"] == 3);
    CHECK(body["daily_count"] == 3);
    CHECK(body["daily_limit"] == 1000);
    CHECK(body["total_requests"] == 4);
    CHECK(body["remaining"] == 97);
    CHECK_FALSE(body["last_used"].is_null());
    CHECK_FALSE(body["reset_at"].is_null());
    // The admin's own calls never count against anyone.
    res = client.Get("/v1/keys/ops/usage", admin);
    REQUIRE(res);
    body = nlohmann::json::parse(res->body);
    CHECK(body["rate_limit"].is_null());
    CHECK(body["window_start"].is_null());
}

TEST_CASE("admin keys: with KEYGATE_STATE_DIR totals and last_used survive a restart",
          "[admin][it]") {
    TempDir dir;
    const std::string path = dir.write("keys.yaml", admin_keys_file());
    const std::string state = (dir.path / "state").string();
    std::filesystem::create_directories(state);
    std::string last_used;
    {
        Running server(path, "/dev/null", state);
        for (int i = 0; i < 3; ++i)
            CHECK(server.status_for(k_viewer_key) == 200);
        httplib::Client client("127.0.0.1", server.runtime->port());
        const auto res = client.Get("/v1/keys/acme-viewer/usage", {{"X-API-Key", k_ops_key}});
        REQUIRE(res);
        last_used = nlohmann::json::parse(res->body)["last_used"].get<std::string>();
    } // stopped: the state is saved on shutdown
    Running server(path, "/dev/null", state);
    httplib::Client client("127.0.0.1", server.runtime->port());
    const auto res = client.Get("/v1/keys/acme-viewer/usage", {{"X-API-Key", k_ops_key}});
    REQUIRE(res);
    const auto body = nlohmann::json::parse(res->body);
    CHECK(body["total_requests"] == 3);
    CHECK(body["last_used"] == last_used);
    // The per-minute window is not persisted: a restart starts with a full bucket.
    CHECK(body["request_count"] == 0);
}

TEST_CASE("admin keys: request_count counts rate-limited requests too, daily_count does not",
          "[admin][it]") {
    // docs/audit-and-metrics.md (USAGE): request_count is every request that passed rows 1-7
    // in the last 60 s, let through or refused by the rate limit; daily_count only the ones
    // let through (what daily_limit counts).
    TempDir dir;
    const std::string limited_key = "admin-keys-it-limited";
    Running server(dir.write("keys.yaml", admin_keys_file() + "  - id: limited\n    key_hash: \"" +
                                              sha256_secret(limited_key) +
                                              "\"\n    role: viewer\n    tenant: acme\n"
                                              "    rate_limit: 2\n    daily_limit: 1000\n"));
    int allowed = 0, limited = 0;
    for (int i = 0; i < 5; ++i) {
        const int status = server.status_for(limited_key);
        allowed += status == 200;
        limited += status == 429;
    }
    CHECK(allowed == 2);
    CHECK(limited == 3);
    httplib::Client client("127.0.0.1", server.runtime->port());
    const auto res = client.Get("/v1/keys/limited/usage", {{"X-API-Key", k_ops_key}});
    REQUIRE(res);
    const auto body = nlohmann::json::parse(res->body);
    CHECK(body["request_count"] == 5);
    CHECK(body["daily_count"] == 2);
    CHECK(body["remaining"] == 0);
    CHECK(body["total_requests"] == 5);
}
