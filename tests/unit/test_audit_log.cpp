#include "infra/audit_log.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace keygate;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

namespace {

ResolvedKey analyst_key() {
    ResolvedKey k;
    k.entry.id = "acme-analysts";
    k.entry.tenant = "acme_corp";
    k.entry.role = "analyst";
    return k;
}

} // namespace

TEST_CASE("audit log: the auth event has the contract's fields, key masked", "[audit]") {
    const ResolvedKey key = analyst_key();
    Decision d;
    d.code = DecisionCode::ok;
    d.key = &key;
    d.dataset = "orders";
    AuthRequest r;
    r.key = "pk_acme_abc123";
    r.method = "POST";
    r.client_ip = *parse_ip("192.168.1.100");
    const AuthDecisionEvent event{*parse_timestamp("2024-01-15T10:30:00.123Z"), d, r, "/v1/query",
                                  "PowerBI/2.0", "req-1", 200, 41us};
    const json j = auth_event_json(event);
    CHECK(j.dump() ==
          R"({"timestamp":"2024-01-15T10:30:00.123Z","event":"auth","decision":"allow","code":"OK",)"
          R"("api_key":"pk_acme_***","key_id":"acme-analysts","tenant":"acme_corp","role":"analyst",)"
          R"("endpoint":"/v1/query","method":"POST","dataset":"orders","ip_address":"192.168.1.100",)"
          R"("user_agent":"PowerBI/2.0","status":200,"latency_us":41,"request_id":"req-1"})");
}

TEST_CASE("audit log: a denial without a key has nulls and the detail", "[audit]") {
    Decision d;
    d.code = DecisionCode::missing_key;
    AuthRequest r;
    r.client_ip = *parse_ip("10.0.0.1");
    const AuthDecisionEvent event{TimePoint{}, d, r, "/", "", "", 401, 5us};
    const json j = auth_event_json(event);
    CHECK(j["api_key"].is_null());
    CHECK(j["key_id"].is_null());
    CHECK(j["request_id"].is_null());
    CHECK(j["decision"] == "deny");
    CHECK(j["code"] == "MISSING_KEY");
    CHECK(j["detail"] == "API key required");
}

TEST_CASE("audit log: decisions and alerts go through the writer and the metrics", "[audit]") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("keygate-auditlog-" + std::to_string(::getpid()) + ".log");
    std::filesystem::remove(path);
    Metrics metrics;
    AlertSettings settings;
    settings.failed_auth_burst = {3, 60s};
    AlertDetector alerts(settings);
    {
        AuditWriter writer({path.string(), 1024, AuditOverflow::block});
        std::string error;
        REQUIRE(writer.start(error));
        AuditLog log(writer, metrics, alerts);
        Decision d;
        d.code = DecisionCode::invalid_key;
        AuthRequest r;
        r.key = std::string("pk_evil_") + std::string(40, 'x');
        r.client_ip = *parse_ip("203.0.113.9");
        for (int i = 0; i < 3; ++i) {
            log.record_decision({*parse_timestamp("2025-01-01T00:00:00Z"), d, r, "/auth", "curl", "", 401, 1us});
        }
        log.write_event(AuditEventKind::config, json{{"event", "config"}, {"type", "reload"}});
        writer.stop();
    }
    std::ifstream in(path);
    std::vector<json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0]["api_key"] == "pk_evil_***");
    CHECK(lines[3]["event"] == "alert");
    CHECK(lines[3]["type"] == "failed_auth_burst");
    CHECK(lines[3]["ip_address"] == "203.0.113.9");
    CHECK(lines[3]["window_s"] == 60);
    CHECK(lines[4]["event"] == "config");
    CHECK(lines[4].contains("timestamp"));
    const std::string text = metrics.render({});
    CHECK(text.find("keygate_audit_events_total{event=\"auth\"} 3\n") != std::string::npos);
    CHECK(text.find("keygate_audit_events_total{event=\"alert\"} 1\n") != std::string::npos);
    CHECK(text.find("keygate_alerts_total{type=\"failed_auth_burst\"} 1\n") != std::string::npos);
    std::filesystem::remove(path);
}
