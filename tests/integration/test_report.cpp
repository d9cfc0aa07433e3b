// GET /v1/report on a whole serve runtime, and `keygate report` on the key file and the state
// directory that runtime leaves: the same JSON.
#include "cli/commands.hpp"
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <cstdlib>
#include <filesystem>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace keygate;
using namespace keygate::testing;

namespace {

const std::string k_ops_key = "report-it-admin-key";
const std::string k_live_key = "report-it-live-key";
const std::string k_new_key = "report-it-rotated-new-key";
const std::string k_old_key = "report-it-rotated-old-key";
const std::string k_soon_key = "report-it-soon-key";
const std::string k_idle_key = "report-it-idle-key";

std::string report_keys_file() {
    const TimePoint now = now_ms();
    const std::string in_3_days = format_timestamp(now + std::chrono::hours(72));
    const std::string in_2_days = format_timestamp(now + std::chrono::hours(48));
    return "api_keys:\n"
           "  - {id: ops, key_hash: \"" +
           sha256_secret(k_ops_key) +
           "\", role: admin}\n"
           "  - {id: live, key_hash: \"" +
           sha256_secret(k_live_key) +
           "\", tenant: acme, role: viewer, rate_limit: 100}\n"
           "  - id: rotated\n"
           "    key_hash: \"" +
           sha256_secret(k_new_key) +
           "\"\n"
           "    tenant: acme\n    role: viewer\n    rate_limit: 100\n"
           "    previous_keys:\n"
           "      - {key_hash: \"" +
           sha256_secret(k_old_key) + "\", expires_at: " + in_2_days +
           "}\n"
           "  - {id: soon, key_hash: \"" +
           sha256_secret(k_soon_key) + "\", tenant: acme, role: viewer, expires_at: " + in_3_days +
           "}\n"
           "  - {id: idle, key_hash: \"" +
           sha256_secret(k_idle_key) + "\", tenant: acme, role: viewer, rate_limit: 5}\n";
}

/// Unsets one variable for the scope (the offline report reads the environment's keys).
class Unset {
  public:
    explicit Unset(const char* name) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        ::unsetenv(name);
    }
    Unset(const Unset&) = delete;
    Unset& operator=(const Unset&) = delete;
    ~Unset() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

} // namespace

TEST_CASE("report: GET /v1/report is admin only and names what it should", "[report][it]") {
    TempDir dir;
    Running server(dir.write("keys.yaml", report_keys_file()));
    httplib::Client client("127.0.0.1", server.runtime->port());
    auto res = client.Get("/v1/report");
    REQUIRE(res);
    CHECK(res->status == 401);
    res = client.Get("/v1/report", {{"X-API-Key", k_live_key}});
    REQUIRE(res);
    CHECK(res->status == 403);
    res = client.Get("/v1/report?expiring=never", {{"X-API-Key", k_ops_key}});
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->body ==
          R"({"detail":"expiring must be a positive duration such as 30d","code":"BAD_REQUEST"})");

    CHECK(server.status_for(k_old_key) == 200);
    res = client.Get("/v1/report?expiring=7d", {{"X-API-Key", k_ops_key}});
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const auto body = nlohmann::json::parse(res->body);
    CHECK(body["expiring_within"] == "7d");
    CHECK(body["usage_known"] == true);
    REQUIRE(body["expiring"].size() == 1);
    CHECK(body["expiring"][0]["key_id"] == "soon");
    REQUIRE(body["old_secrets"].size() == 1);
    CHECK(body["old_secrets"][0]["key_id"] == "rotated");
    CHECK(body["old_secrets"][0]["requests"] == 1);
    CHECK(body["old_secrets"][0]["last_used"].is_string());
    std::vector<std::string> unused;
    for (const auto& k : body["unused"])
        unused.push_back(k["key_id"]);
    // Every decision about a key is a use, a denied one too (live was refused the report).
    CHECK(unused == std::vector<std::string>{"soon", "idle"});
    std::vector<std::string> unlimited;
    for (const auto& k : body["no_rate_limit"])
        unlimited.push_back(k["key_id"]);
    CHECK(unlimited == std::vector<std::string>{"ops", "soon"});
    CHECK(res->body.find("sha256") == std::string::npos);
}

TEST_CASE("report: keygate report on the state directory agrees with GET /v1/report",
          "[report][it]") {
    const Unset admin("API_KEY_ADMIN"), admin_file("API_KEY_ADMIN_FILE");
    const Unset user("API_KEY_DEFAULT"), user_file("API_KEY_DEFAULT_FILE");
    const Unset env_file("KEYGATE_ENV_FILE"), state_env("KEYGATE_STATE_DIR");
    TempDir dir;
    const std::string path = dir.write("keys.yaml", report_keys_file());
    const std::string state = (dir.path / "state").string();
    std::filesystem::create_directories(state);
    nlohmann::json online;
    {
        Running server(path, "/dev/null", state);
        CHECK(server.status_for(k_live_key) == 200);
        for (int i = 0; i < 3; ++i)
            CHECK(server.status_for(k_old_key) == 200);
        CHECK(server.status_for(k_new_key) == 200);
        httplib::Client client("127.0.0.1", server.runtime->port());
        const auto res =
            client.Get("/v1/report?expiring=30d&unused=1d", {{"X-API-Key", k_ops_key}});
        REQUIRE(res);
        REQUIRE(res->status == 200);
        online = nlohmann::json::parse(res->body);
    } // stopped: the state is saved on shutdown

    std::ostringstream out;
    std::ostringstream err;
    const int code = cli::run_report(
        {"--config", path, "--state-dir", state, "--format", "json", "--unused", "1d"}, out, err);
    INFO(err.str());
    REQUIRE(code == 0);
    nlohmann::json offline = nlohmann::json::parse(out.str());
    // Only the instant differs.
    CHECK(online["generated_at"].is_string());
    CHECK(offline["generated_at"].is_string());
    online.erase("generated_at");
    offline.erase("generated_at");
    CHECK(offline == online);
    REQUIRE(offline["old_secrets"].size() == 1);
    CHECK(offline["old_secrets"][0]["requests"] == 3);
    CHECK(offline["unused"].size() == 2); // soon, idle
}
