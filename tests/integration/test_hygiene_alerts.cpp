// The key hygiene alerts of a whole serve runtime, read back from its audit log:
// key_expiring once per key per generation (at load, and when a running key set's key enters
// its last week), rotated_secret_used not per request.
#include "infra/expiry_alerts.hpp"
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <atomic>
#include <fstream>
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace keygate;
using namespace keygate::testing;

namespace {

const std::string k_ops_key = "hygiene-it-admin-key";
const std::string k_new_key = "hygiene-it-rotated-new-key";
const std::string k_old_key = "hygiene-it-rotated-old-key";
const std::string k_soon_key = "hygiene-it-soon-key";

std::string hygiene_keys_file(const std::string& description) {
    const TimePoint now = now_ms();
    return "api_keys:\n"
           "  - {id: ops, key_hash: \"" +
           sha256_secret(k_ops_key) +
           "\", role: admin}\n"
           "  - {id: soon, key_hash: \"" +
           sha256_secret(k_soon_key) + "\", role: admin, description: \"" + description +
           "\", expires_at: " + format_timestamp(now + std::chrono::hours(72)) +
           "}\n"
           "  - {id: later, key_hash: \"" +
           sha256_secret("hygiene-it-later") +
           "\", role: admin, expires_at: " + format_timestamp(now + std::chrono::hours(24 * 8)) +
           "}\n"
           "  - id: rotated\n"
           "    key_hash: \"" +
           sha256_secret(k_new_key) +
           "\"\n"
           "    role: admin\n"
           "    previous_keys:\n"
           "      - {key_hash: \"" +
           sha256_secret(k_old_key) +
           "\", expires_at: " + format_timestamp(now + std::chrono::hours(48)) + "}\n";
}

std::vector<nlohmann::json> alerts_of(const std::string& audit_log, const std::string& type) {
    std::ifstream in(audit_log);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) // a line the writer is still writing
            continue;
        if (j["event"] == "alert" && j["type"] == type)
            lines.push_back(j);
    }
    return lines;
}

/// A serve runtime whose clock is the real one plus `offset`, with a periodic check every
/// 100 ms; run on a thread, stopped and joined by the destructor.
struct ClockedRuntime {
    std::shared_ptr<std::atomic<std::int64_t>> offset_ms =
        std::make_shared<std::atomic<std::int64_t>>(0);
    std::unique_ptr<cli::ServeRuntime> runtime;
    std::thread thread;

    ClockedRuntime(const std::string& config_path, const std::string& audit_log) {
        cli::RuntimeOptions options;
        options.sources.config_path = config_path;
        options.listen_port = 0;
        options.audit_destination = audit_log;
        options.watch_debounce = 20ms;
        options.reload_interval = 100ms;
        options.clock = [offset = offset_ms] {
            return now_ms() + std::chrono::milliseconds(offset->load());
        };
        runtime = std::make_unique<cli::ServeRuntime>(options);
        Diagnostics diagnostics;
        std::string error;
        const bool started = runtime->start(diagnostics, error);
        for (const auto& item : diagnostics.items)
            UNSCOPED_INFO(item.line << ":" << item.column << " " << item.message);
        INFO(error);
        REQUIRE(started);
        thread = std::thread([this] { runtime->run(); });
    }
    ~ClockedRuntime() {
        runtime->stop();
        thread.join();
    }
    void advance(std::chrono::milliseconds by) { offset_ms->fetch_add(by.count()); }
};

} // namespace

TEST_CASE("hygiene alerts: a key entering its last week while serving raises key_expiring once",
          "[alerts][it]") {
    TempDir dir;
    // `edge` leaves its last-week window 60 s from now: no alert at load.
    const TimePoint expires_at = now_ms() + k_key_expiring_window + std::chrono::seconds(60);
    const std::string path =
        dir.write("keys.yaml", "api_keys:\n"
                               "  - {id: ops, key_hash: \"" +
                                   sha256_secret(k_ops_key) +
                                   "\", role: admin}\n"
                                   "  - {id: edge, key_hash: \"" +
                                   sha256_secret("hygiene-it-edge-key") +
                                   "\", role: viewer, tenant: acme, expires_at: " +
                                   format_timestamp(expires_at) + "}\n");
    const std::string audit_log = (dir.path / "audit.log").string();
    {
        ClockedRuntime server(path, audit_log);
        // Several periodic checks (every 100 ms) before the window: nothing raised.
        std::this_thread::sleep_for(600ms);
        CHECK(alerts_of(audit_log, "key_expiring").empty());

        // No reload, no request: the clock passes expires_at - 7 d, and the next periodic
        // check names the key.
        server.advance(std::chrono::seconds(120));
        REQUIRE(eventually([&] { return alerts_of(audit_log, "key_expiring").size() == 1; }, 2s));
        const auto alert = alerts_of(audit_log, "key_expiring")[0];
        CHECK(alert["key_id"] == "edge");
        CHECK(alert["count"] == 1);
        CHECK(alert["window_s"] == 604800);
        CHECK(alert["expires_at"] == format_timestamp(expires_at));

        // The checks after it (same generation) raise nothing more, and no reload happened.
        std::this_thread::sleep_for(600ms);
        CHECK(alerts_of(audit_log, "key_expiring").size() == 1);
        httplib::Client client("127.0.0.1", server.runtime->port());
        const auto status = client.Get("/v1/status", {{"X-API-Key", k_ops_key}});
        REQUIRE(status);
        CHECK(nlohmann::json::parse(status->body)["generation"] == 1);
    } // stopped: every audit line is written
    CHECK(alerts_of(audit_log, "key_expiring").size() == 1);
}

TEST_CASE("hygiene alerts: key_expiring at start and at each new generation only", "[alerts][it]") {
    TempDir dir;
    const std::string path = dir.write("keys.yaml", hygiene_keys_file("one"));
    const std::string audit_log = (dir.path / "audit.log").string();
    {
        Running server(path, audit_log);
        httplib::Client client("127.0.0.1", server.runtime->port());
        REQUIRE(eventually([&] { return alerts_of(audit_log, "key_expiring").size() == 1; }, 2s));
        const auto first = alerts_of(audit_log, "key_expiring")[0];
        CHECK(first["key_id"] == "soon");
        CHECK(first["count"] == 1);
        CHECK(first["window_s"] == 604800);
        CHECK(first["expires_at"].is_string());
        CHECK(first["detail"].get<std::string>().starts_with("key soon expires at "));

        // Requests with the key raise nothing more; an unchanged file is no new generation.
        for (int i = 0; i < 5; ++i)
            CHECK(server.status_for(k_soon_key) == 200);
        auto res = client.Post("/v1/reload", httplib::Headers{{"X-API-Key", k_ops_key}}, "", "");
        REQUIRE(res);
        CHECK(nlohmann::json::parse(res->body)["result"] == "unchanged");
        // A changed file is a new key set: the key is named once more.
        dir.write("keys.yaml", hygiene_keys_file("two"));
        res = client.Post("/v1/reload", httplib::Headers{{"X-API-Key", k_ops_key}}, "", "");
        REQUIRE(res);
        REQUIRE(eventually([&] { return alerts_of(audit_log, "key_expiring").size() == 2; }, 2s));
        for (int i = 0; i < 3; ++i)
            CHECK(server.status_for(k_soon_key) == 200);
    } // stopped: every audit line is written
    CHECK(alerts_of(audit_log, "key_expiring").size() == 2);
    // `later` (8 days) is not in its last week.
    for (const auto& alert : alerts_of(audit_log, "key_expiring"))
        CHECK(alert["key_id"] == "soon");
}

TEST_CASE("hygiene alerts: a rotated-out secret in use raises rotated_secret_used once",
          "[alerts][it]") {
    TempDir dir;
    const std::string path = dir.write("keys.yaml", hygiene_keys_file("one"));
    const std::string audit_log = (dir.path / "audit.log").string();
    {
        Running server(path, audit_log);
        CHECK(server.status_for(k_new_key) == 200); // the new secret: no alert
        for (int i = 0; i < 4; ++i)
            CHECK(server.status_for(k_old_key) == 200);
    } // stopped: every audit line is written
    const auto alerts = alerts_of(audit_log, "rotated_secret_used");
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["key_id"] == "rotated");
    CHECK(alerts[0]["ip_address"] == "127.0.0.1");
    CHECK(alerts[0]["count"] == 1);
    CHECK(alerts[0]["window_s"] == 3600);
    CHECK(alerts[0]["grace_until"].is_string());
    CHECK(alerts[0]["detail"].get<std::string>().starts_with(
        "key rotated was used with a rotated-out secret (accepted until "));
    // Never the secret or its hash.
    std::ifstream in(audit_log);
    std::string text;
    for (std::string line; std::getline(in, line);)
        text += line + "\n";
    CHECK(text.find(k_old_key) == std::string::npos);
    CHECK(text.find(sha256_secret(k_old_key).substr(7)) == std::string::npos);
}
