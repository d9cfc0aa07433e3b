#include "infra/audit_line.hpp"
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
    const AuthDecisionEvent event{*parse_timestamp("2024-01-15T10:30:00.123Z"),
                                  d,
                                  r,
                                  "/v1/query",
                                  "PowerBI/2.0",
                                  "req-1",
                                  200,
                                  41us,
                                  {}};
    const json j = auth_event_json(event);
    CHECK(
        j.dump() ==
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
    const AuthDecisionEvent event{TimePoint{}, d, r, "/", "", "", 401, 5us, {}};
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
            log.record_decision({*parse_timestamp("2025-01-01T00:00:00Z"),
                                 d,
                                 r,
                                 "/auth",
                                 "curl",
                                 "",
                                 401,
                                 1us,
                                 {}});
        }
        log.write_event(AuditEventKind::config, json{{"event", "config"}, {"type", "reload"}});
        writer.stop();
    }
    std::ifstream in(path);
    std::vector<json> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(json::parse(line));
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

namespace {

/// The tree way of writing an auth line: what auth_event_line() must agree with.
std::string tree_line(const AuthDecisionEvent& event) {
    return to_audit_line(auth_event_json(event));
}

} // namespace

TEST_CASE("audit log: the direct auth line is the tree's line, byte for byte", "[audit]") {
    const ResolvedKey key = analyst_key();
    ResolvedKey no_tenant = analyst_key();
    no_tenant.entry.tenant.reset();
    const std::vector<DecisionCode> codes = {DecisionCode::ok,
                                             DecisionCode::missing_key,
                                             DecisionCode::invalid_key,
                                             DecisionCode::insufficient_permission,
                                             DecisionCode::dataset_forbidden,
                                             DecisionCode::rate_limited};
    int compared = 0;
    for (const DecisionCode code : codes) {
        const std::vector<const ResolvedKey*> keys = {&key, &no_tenant, nullptr};
        for (const ResolvedKey* k : keys) {
            for (const bool grace : {false, true}) {
                Decision d;
                d.code = code;
                d.key = k;
                d.permission = "write";
                d.dataset = code == DecisionCode::ok ? "" : "orders";
                if (grace)
                    d.grace_until = *parse_timestamp("2025-02-01T00:00:00Z");
                AuthRequest r;
                if (k != nullptr)
                    r.key = "pk_acme_corp_0123456789abcdef";
                r.method = "DELETE";
                r.client_ip = *parse_ip("2001:db8::1");
                const AuthDecisionEvent event{*parse_timestamp("2025-01-15T10:30:00.007Z"),
                                              d,
                                              r,
                                              "/v1/datasets/orders/rows?x=\"1\"",
                                              "Tableau/2024.1 (\\path\\) \xc3\xa9t\xc3\xa9",
                                              compared % 2 == 0 ? "" : "req-42",
                                              http_status(code),
                                              123456us,
                                              {}};
                CHECK(auth_event_line(event) == tree_line(event));
                ++compared;
            }
        }
    }
    CHECK(compared == 36);
}

TEST_CASE("audit log: hostile bytes give a valid line with the same values", "[audit]") {
    const ResolvedKey key = analyst_key();
    Decision d;
    d.code = DecisionCode::dataset_forbidden;
    d.key = &key;
    d.dataset = "o??ers"; // decide() already made it printable
    AuthRequest r;
    r.key = std::string("pk_acme_\x01\x7f\"\\x");
    r.client_ip = *parse_ip("10.0.0.1");
    const std::string agent = "a\nb\r\t\x01\x1f\x7f \"q\" \\ \xff\xfe end\xe2\x82";
    const AuthDecisionEvent event{TimePoint{}, d, r, "/\x02path", agent, "id\x1b[0m", 403, 1us, {}};
    const std::string line = auth_event_line(event);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    const json direct = json::parse(line); // throws, and fails the test, if not valid JSON
    const json tree = json::parse(tree_line(event));
    REQUIRE(direct.size() == tree.size());
    for (auto it = direct.begin(), other = tree.begin(); it != direct.end(); ++it, ++other) {
        CHECK(it.key() == other.key()); // same fields in the same order
        if (it.key() != "user_agent")
            CHECK(it.value() == other.value());
    }
    // Valid bytes survive; each invalid one is a replacement character.
    const std::string ua = direct["user_agent"].get<std::string>();
    CHECK(ua.rfind("a\nb\r\t\x01\x1f\x7f \"q\" \\ ", 0) == 0);
    CHECK(ua.find("\xef\xbf\xbd") != std::string::npos);
    CHECK(ua.find('\xff') == std::string::npos);
}

TEST_CASE("audit log: an auth line over 8 KiB is cut and marked like the tree's", "[audit]") {
    Decision d;
    d.code = DecisionCode::invalid_key;
    AuthRequest r;
    r.key = "pk_x_" + std::string(20000, 'k');
    r.client_ip = *parse_ip("10.0.0.1");
    const std::string agent(20000, 'u');
    const AuthDecisionEvent event{TimePoint{}, d, r, "/auth", agent, "", 401, 1us, {}};
    const std::string line = auth_event_line(event);
    CHECK(line == tree_line(event));
    CHECK(line.size() <= k_max_audit_line);
    const json j = json::parse(line);
    CHECK(j["truncated"] == true);
    CHECK(j["event"] == "auth");
    CHECK(line.find(std::string(100, 'k')) == std::string::npos); // never the key
}

TEST_CASE("audit log: INVALID_KEY says why, and a trace id is carried", "[audit]") {
    Decision d;
    d.code = DecisionCode::invalid_key;
    d.reason = InvalidKeyReason::checksum;
    AuthRequest r;
    r.key = "pk_acme_typo1";
    r.client_ip = *parse_ip("10.0.0.1");
    const AuthDecisionEvent event{
        TimePoint{}, d, r, "/v1/query", "curl", "", 401, 5us, "4bf92f3577b34da6a3ce929d0e0e4736"};
    const json j = auth_event_json(event);
    CHECK(j["reason"] == "checksum");
    CHECK(j["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736");
    // The direct line writer says the same.
    CHECK(json::parse(auth_event_line(event)) == j);
    CHECK(auth_event_line(event) == to_audit_line(j));

    const std::vector<std::pair<InvalidKeyReason, std::string>> reasons = {
        {InvalidKeyReason::unknown, "unknown"},
        {InvalidKeyReason::malformed, "malformed"},
        {InvalidKeyReason::conflict, "conflict"},
        {InvalidKeyReason::grace_ended, "grace_ended"}};
    for (const auto& [reason, text] : reasons) {
        d.reason = reason;
        const AuthDecisionEvent e{TimePoint{}, d, r, "/", "", "", 401, 5us, {}};
        CHECK(json::parse(auth_event_line(e))["reason"] == text);
        CHECK_FALSE(json::parse(auth_event_line(e)).contains("trace_id"));
    }
    // Allowed and other denials carry no reason.
    Decision allowed_missing;
    allowed_missing.code = DecisionCode::missing_key;
    const AuthDecisionEvent missing{TimePoint{}, allowed_missing, r, "/", "", "", 401, 5us, {}};
    CHECK_FALSE(json::parse(auth_event_line(missing)).contains("reason"));
}
