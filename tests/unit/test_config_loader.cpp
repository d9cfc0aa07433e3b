// The key file loader: the Config it builds (field by field), its defaults, and the
// diagnostics it reports, including hostile input (huge, binary, deep, alias bombs).
#include "core/config_collector.hpp"
#include "core/config_key_strength.hpp"
#include "core/config_loader.hpp"
#include "core/yaml_document.hpp"
#include "core/yaml_simple_parser.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <spanstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_hash_a =
    "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
constexpr const char* k_hash_1 =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* k_hash_2 =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

LoadOptions options_at(const char* now) {
    LoadOptions options;
    options.now = *parse_timestamp(now);
    return options;
}

LoadResult load(std::string_view text, const LoadOptions& options = options_at("2026-01-01")) {
    return load_config_text(text, options);
}

/// Every diagnostic as "LINE:COL: severity: message", in order.
std::vector<std::string> lines_of(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.items) {
        out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " +
                      to_string(d.severity) + ": " + d.message);
    }
    return out;
}

using Lines = std::vector<std::string>;

TimePoint ts(const char* text) {
    return *parse_timestamp(text);
}

std::vector<std::string> cidr_texts(const std::vector<Cidr>& cidrs) {
    std::vector<std::string> out;
    for (const Cidr& c : cidrs)
        out.push_back(c.text);
    return out;
}

/// A temporary directory, removed with its contents at the end of the scope.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "keygate-loader-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

// ---- the model's lookups and defaults ------------------------------------------------------

TEST_CASE("built-in roles and default trusted proxies", "[config]") {
    const auto roles = builtin_roles();
    REQUIRE(roles.size() == 3);
    CHECK(roles[0].name == "admin");
    CHECK(roles[0].permissions == std::vector<std::string>{"read", "write", "admin"});
    CHECK(roles[0].bypass_rls);
    CHECK(roles[1].name == "analyst");
    CHECK(roles[1].permissions == std::vector<std::string>{"read", "write"});
    CHECK_FALSE(roles[1].bypass_rls);
    CHECK(roles[2].name == "viewer");
    CHECK(roles[2].permissions == std::vector<std::string>{"read"});
    CHECK_FALSE(roles[2].bypass_rls);

    CHECK(cidr_texts(default_trusted_proxies()) ==
          std::vector<std::string>{"127.0.0.1/32", "::1/128"});
}

TEST_CASE("find_role and find_tenant", "[config]") {
    Config c;
    c.roles = builtin_roles();
    c.tenants.push_back(Tenant{"acme", std::nullopt, {}, ""});
    REQUIRE(c.find_role("viewer") != nullptr);
    CHECK(c.find_role("viewer")->permissions == std::vector<std::string>{"read"});
    CHECK(c.find_role("Viewer") == nullptr);
    CHECK(c.find_role("nobody") == nullptr);
    REQUIRE(c.find_tenant("acme") != nullptr);
    CHECK(c.find_tenant("acme")->name == "acme");
    CHECK(c.find_tenant("globex") == nullptr);
}

// ---- valid files -----------------------------------------------------------------------------

TEST_CASE("a minimal file gives every default", "[config_loader]") {
    const LoadResult r = load("api_keys: []\n");
    REQUIRE(r.diagnostics.items.empty());
    REQUIRE(r.config);
    const Config& c = *r.config;
    CHECK(c.version == 1);
    CHECK(c.settings.header == "X-API-Key");
    CHECK(c.settings.grace_period == Duration{0});
    CHECK(cidr_texts(c.settings.trusted_proxies) ==
          std::vector<std::string>{"127.0.0.1/32", "::1/128"});
    CHECK_FALSE(c.settings.allow_query_key);
    CHECK(c.settings.reload_interval == std::chrono::seconds(30));
    CHECK(c.settings.alerts.failed_auth_burst.count == 20);
    CHECK(c.settings.alerts.failed_auth_burst.window == std::chrono::seconds(60));
    CHECK(c.settings.alerts.new_ip);
    CHECK(c.settings.alerts.volume_spike_factor == 10.0);
    CHECK(c.settings.alerts.volume_spike_min_per_minute == 100);
    CHECK(c.settings.alerts.unusual_dataset);
    CHECK(c.settings.alerts.key_expiring);
    CHECK(c.settings.alerts.rotated_secret_used);
    REQUIRE(c.roles.size() == 3);
    CHECK(c.roles[0].name == "admin");
    CHECK(c.tenants.empty());
    CHECK(c.routes.empty());
    CHECK(c.api_keys.empty());
}

TEST_CASE("complete.yaml loads field by field", "[config_loader]") {
    const LoadResult r = load_config_file(std::string(KEYGATE_TEST_DATA) + "/valid/complete.yaml",
                                          options_at("2026-01-01"));
    INFO(Catch::Detail::stringify(lines_of(r)));
    REQUIRE(r.diagnostics.items.empty());
    REQUIRE(r.config);
    const Config& c = *r.config;

    SECTION("settings") {
        const Settings& s = c.settings;
        CHECK(s.header == "X-Custom-Key");
        CHECK(s.grace_period == std::chrono::seconds(90));
        CHECK(cidr_texts(s.trusted_proxies) ==
              std::vector<std::string>{"10.0.0.0/8", "fd00::/8", "192.168.1.1"});
        CHECK(s.trusted_proxies[2].contains(*parse_ip("192.168.1.1")));
        CHECK_FALSE(s.trusted_proxies[2].contains(*parse_ip("192.168.1.2")));
        CHECK(s.allow_query_key);
        CHECK(s.reload_interval == std::chrono::minutes(5));
        CHECK(s.alerts.failed_auth_burst.count == 5);
        CHECK(s.alerts.failed_auth_burst.window == std::chrono::seconds(30));
        CHECK_FALSE(s.alerts.new_ip);
        CHECK(s.alerts.volume_spike_factor == 2.5);
        CHECK(s.alerts.volume_spike_min_per_minute == 50);
        CHECK_FALSE(s.alerts.unusual_dataset);
        CHECK_FALSE(s.alerts.key_expiring);
        CHECK_FALSE(s.alerts.rotated_secret_used);
    }
    SECTION("roles: built-ins first, redefined field by field, then the file's own") {
        REQUIRE(c.roles.size() == 5);
        CHECK(c.roles[0].name == "admin");
        CHECK(c.roles[0].permissions == std::vector<std::string>{"read", "admin"});
        CHECK(c.roles[0].bypass_rls); // not written: kept from the built-in
        CHECK(c.roles[1].name == "analyst");
        CHECK(c.roles[1].permissions == std::vector<std::string>{"read", "write"});
        CHECK(c.roles[2].name == "viewer");
        CHECK(c.roles[2].permissions == std::vector<std::string>{"read"});
        CHECK_FALSE(c.roles[2].bypass_rls);
        CHECK(c.roles[3].name == "auditor");
        CHECK(c.roles[3].permissions == std::vector<std::string>{"read", "export"});
        CHECK_FALSE(c.roles[3].bypass_rls);
        CHECK(c.roles[4].name == "ops");
        CHECK(c.roles[4].permissions == std::vector<std::string>{"read", "write", "admin"});
        CHECK(c.roles[4].bypass_rls);
    }
    SECTION("tenants, in file order") {
        REQUIRE(c.tenants.size() == 3);
        CHECK(c.tenants[0].name == "acme_corp");
        CHECK(c.tenants[0].description == "Acme Corp");
        REQUIRE(c.tenants[0].allowed_datasets);
        CHECK(*c.tenants[0].allowed_datasets ==
              std::vector<std::string>{"orders", "customers", "sales_*"});
        CHECK(c.tenants[0].denied_datasets == std::vector<std::string>{"orders_raw"});
        CHECK(c.tenants[1].name == "globex");
        REQUIRE(c.tenants[1].allowed_datasets); // [] is "none", not "absent"
        CHECK(c.tenants[1].allowed_datasets->empty());
        CHECK(c.tenants[2].name == "initech");
        CHECK_FALSE(c.tenants[2].allowed_datasets);
        CHECK(c.tenants[2].denied_datasets.empty());
    }
    SECTION("routes, methods in upper case") {
        REQUIRE(c.routes.size() == 3);
        CHECK(c.routes[0].pattern.text == "/v1/query");
        CHECK(c.routes[0].methods == std::vector<std::string>{"POST"});
        CHECK(c.routes[0].permission == "read");
        CHECK(c.routes[1].pattern.text == "/v1/datasets/{dataset}/export");
        REQUIRE(c.routes[1].pattern.segments.size() == 4);
        CHECK(c.routes[1].pattern.segments[2].kind == RouteSegment::Kind::capture);
        CHECK(c.routes[1].methods == std::vector<std::string>{"GET", "POST"});
        CHECK(c.routes[1].permission == "export");
        CHECK(c.routes[2].pattern.text == "/v1/reports/**");
        CHECK(c.routes[2].methods.empty());
    }
    SECTION("a key with every field") {
        REQUIRE(c.api_keys.size() == 3);
        const KeyEntry& k = c.api_keys[0];
        CHECK(k.id == "acme-analysts");
        CHECK(format_secret(k.secret) == k_hash_a);
        CHECK_FALSE(k.secret_was_plaintext);
        CHECK(k.tenant == std::optional<std::string>("acme_corp"));
        CHECK(k.role == "auditor");
        CHECK(k.description == "Acme Corp analysts");
        REQUIRE(k.allowed_datasets);
        CHECK(*k.allowed_datasets == std::vector<std::string>{"orders", "cust?mers"});
        CHECK(k.denied_datasets == std::vector<std::string>{"orders_raw", "tmp_*"});
        REQUIRE(k.permissions);
        CHECK(*k.permissions == std::vector<std::string>{"read"});
        CHECK_FALSE(k.enabled);
        CHECK(k.not_before == std::optional<TimePoint>(ts("2025-01-01T00:00:00Z")));
        CHECK(k.expires_at == std::optional<TimePoint>(ts("2099-12-31T21:59:59.250Z")));
        CHECK(k.rate_limit == std::optional<std::uint64_t>(100));
        CHECK(k.daily_limit == std::optional<std::uint64_t>(10000));
        CHECK(cidr_texts(k.ip_allowlist) ==
              std::vector<std::string>{"10.0.0.0/8", "192.168.1.100", "2001:db8::/32"});
        REQUIRE(k.previous_keys.size() == 2);
        CHECK(format_secret(k.previous_keys[0].secret) ==
              "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2");
        CHECK(k.previous_keys[0].expires_at == ts("2099-02-01"));
        CHECK(format_secret(k.previous_keys[1].secret) ==
              "sha256:c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3");
        CHECK(k.previous_keys[1].expires_at == ts("2099-03-01T12:30:00Z"));
        CHECK(k.line == 40);
    }
    SECTION("a key with only the required fields") {
        const KeyEntry& k = c.api_keys[1];
        CHECK(k.id == "k-0123456789ab"); // "k-" + the first 12 hex of the stored digest
        CHECK(k.role == "ops");
        CHECK_FALSE(k.tenant);
        CHECK(k.description.empty());
        CHECK_FALSE(k.allowed_datasets);
        CHECK(k.denied_datasets.empty());
        CHECK_FALSE(k.permissions);
        CHECK(k.enabled);
        CHECK_FALSE(k.not_before);
        CHECK_FALSE(k.expires_at);
        CHECK_FALSE(k.rate_limit);
        CHECK_FALSE(k.daily_limit);
        CHECK(k.ip_allowlist.empty());
        CHECK(k.previous_keys.empty());
        CHECK(k.line == 60);
    }
    SECTION("quoted values and an id using every allowed character") {
        const KeyEntry& k = c.api_keys[2];
        CHECK(k.id == "globex:etl.v2_x-1");
        CHECK(k.tenant == std::optional<std::string>("globex"));
        CHECK(k.enabled);
        CHECK(k.ip_allowlist.empty());
        CHECK(k.line == 63);
    }
}

TEST_CASE("the CONTRACT §3 example loads with warnings only", "[config_loader]") {
    const LoadResult r = load_config_file(
        std::string(KEYGATE_TEST_DATA) + "/valid/contract_example.yaml", options_at("2026-06-01"));
    REQUIRE(r.config);
    CHECK(r.diagnostics.error_count() == 0);
    CHECK(lines_of(r) ==
          Lines{"23:10: warning: plaintext 'key': store its hash in 'key_hash' instead (see "
                "'keygate hash')",
                "23:10: warning: weak plaintext key: shorter than 20 characters",
                "34:17: warning: key already expired at 2025-12-31T23:59:59Z",
                "39:107: warning: previous key already expired at 2024-02-01T00:00:00Z; it can "
                "be removed"});
    const KeyEntry& k = r.config->api_keys.at(0);
    CHECK(k.id == "acme-analysts");
    CHECK(k.secret_was_plaintext);
    CHECK(k.secret == SecretDigest{HashKind::sha256, sha256("pk_acme_abc123")});
    CHECK(r.config->roles.back().name == "auditor");
    CHECK(r.config->tenants.at(0).name == "acme_corp");
    CHECK(r.config->routes.size() == 2);
}

TEST_CASE("a plaintext key is hashed at load and its text is not kept", "[config_loader]") {
    const std::string key = "pk_acme_test0001_fake_Zq8XbL2mRt4Kd9VwN3pH";
    const LoadResult r = load("api_keys:\n  - key: \"" + key + "\"\n    role: admin\n");
    REQUIRE(r.config);
    const KeyEntry& k = r.config->api_keys.at(0);
    CHECK(k.secret == SecretDigest{HashKind::sha256, sha256(key)});
    CHECK(k.secret_was_plaintext);
    CHECK(k.id == "k-" + to_hex(sha256(key)).substr(0, 12));
    CHECK(k.id.find(key) == std::string::npos);
    CHECK(k.description.empty());
    // The warning names the field, never the key.
    CHECK(lines_of(r) == Lines{"2:10: warning: plaintext 'key': store its hash in 'key_hash' "
                               "instead (see 'keygate hash')"});
    for (const Diagnostic& d : r.diagnostics.items)
        CHECK(d.message.find(key) == std::string::npos);
}

TEST_CASE("key and key_hash of the same secret have the same default id", "[config_loader]") {
    const std::string key = "pk_acme_test0002_fake_Zq8XbL2mRt4Kd9VwN3pH";
    const std::string hash = "sha256:" + to_hex(sha256(key));
    const LoadResult a = load("api_keys:\n  - {key: \"" + key + "\", role: admin}\n");
    const LoadResult b = load("api_keys:\n  - {key_hash: \"" + hash + "\", role: admin}\n");
    REQUIRE(a.config);
    REQUIRE(b.config);
    CHECK(a.config->api_keys[0].id == b.config->api_keys[0].id);
    CHECK(a.config->api_keys[0].secret == b.config->api_keys[0].secret);
    CHECK_FALSE(b.config->api_keys[0].secret_was_plaintext);
}

TEST_CASE("hmac-sha256 hashes load when a pepper is given", "[config_loader]") {
    LoadOptions options = options_at("2026-01-01");
    options.hash_pepper = "test-pepper";
    const std::string text =
        "api_keys:\n  - key_hash: "
        "\"hmac-sha256:e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5\"\n"
        "    role: admin\n";
    const LoadResult r = load(text, options);
    REQUIRE(r.config);
    CHECK(r.config->api_keys[0].secret.kind == HashKind::hmac_sha256);
    CHECK(r.config->api_keys[0].id == "k-e5e5e5e5e5e5");

    const LoadResult no_pepper = load(text);
    CHECK_FALSE(no_pepper.config);
    CHECK(lines_of(no_pepper) ==
          Lines{"2:15: error: 'hmac-sha256:' hash needs KEYGATE_HASH_PEPPER, which is not set"});
}

TEST_CASE("explicit empty trusted_proxies trusts no one", "[config_loader]") {
    const LoadResult r = load("settings: {trusted_proxies: []}\napi_keys: []\n");
    REQUIRE(r.config);
    CHECK(r.config->settings.trusted_proxies.empty());
}

TEST_CASE("string fields take plain numbers and booleans as text", "[config_loader]") {
    const LoadResult r = load("api_keys:\n  - key_hash: \"" + std::string(k_hash_1) +
                              "\"\n    id: 12345\n    tenant: 007\n    role: viewer\n"
                              "    description: true\n");
    REQUIRE(r.config);
    CHECK(r.config->api_keys[0].id == "12345");
    CHECK(r.config->api_keys[0].tenant == std::optional<std::string>("007"));
    CHECK(r.config->api_keys[0].description == "true");
}

TEST_CASE("CRLF line endings and a UTF-8 byte order mark load", "[config_loader]") {
    const std::string text = "\xEF\xBB\xBFversion: 1\r\napi_keys:\r\n  - key_hash: \"" +
                             std::string(k_hash_1) + "\"\r\n    role: admin\r\n";
    const LoadResult r = load(text);
    INFO(Catch::Detail::stringify(lines_of(r)));
    REQUIRE(r.config);
    CHECK(r.config->api_keys.at(0).line == 3);
}

TEST_CASE("non-ASCII UTF-8 text is fine in descriptions and tenant names", "[config_loader]") {
    const LoadResult r =
        load("tenants:\n  caf\xC3\xA9: {description: \"\xE6\x97\xA5\xE6\x9C\xAC\"}\n"
             "api_keys: []\n");
    REQUIRE(r.config);
    CHECK(r.config->tenants.at(0).name == "caf\xC3\xA9");
}

// ---- diagnostics -------------------------------------------------------------------------------

TEST_CASE("all problems are reported in one pass, in file order", "[config_loader]") {
    // Sections are read in a fixed order (settings before api_keys) whatever their order in
    // the file; the diagnostics still come out in file order.
    const LoadResult r = load("api_keys:\n  - {key_hash: \"" + std::string(k_hash_1) +
                              "\", role: nobody}\nsettings:\n  header: \"a b\"\n"
                              "  grace_period: soon\n");
    CHECK_FALSE(r.config);
    CHECK(lines_of(r) ==
          Lines{"2:97: error: unknown role 'nobody'",
                "4:11: error: 'header' must be an http header name, not 'a b'",
                "5:17: error: bad duration 'soon' for 'grace_period': expected a duration like "
                "500ms, 30s, 15m, 24h or 7d"});
}

TEST_CASE("a config is produced only without errors; warnings do not block", "[config_loader]") {
    const LoadResult warned = load("api_keys:\n  - {key_hash: \"" + std::string(k_hash_1) +
                                   "\", role: admin, expires_at: 2020-01-01}\n");
    REQUIRE(warned.config);
    CHECK(warned.diagnostics.warning_count() == 1);
    const LoadResult failed = load("api_keys:\n  - {key_hash: \"" + std::string(k_hash_1) +
                                   "\", role: admin, rate_limit: many}\n");
    CHECK_FALSE(failed.config);
}

TEST_CASE("expiry warnings use options.now", "[config_loader]") {
    const std::string text = "api_keys:\n  - key_hash: \"" + std::string(k_hash_1) +
                             "\"\n    role: admin\n    expires_at: 2030-06-01T00:00:00Z\n";
    CHECK(load(text, options_at("2030-05-31T23:59:59Z")).diagnostics.items.empty());
    // expires_at == now is already expired.
    CHECK(lines_of(load(text, options_at("2030-06-01T00:00:00Z"))) ==
          Lines{"4:17: warning: key already expired at 2030-06-01T00:00:00Z"});
}

TEST_CASE("the weak-key heuristic", "[config_loader]") {
    CHECK(weak_key_reason("pk_acme_abc123") ==
          std::optional<std::string>("shorter than 20 characters"));
    CHECK(weak_key_reason("0123456789012345678") ==
          std::optional<std::string>("shorter than 20 characters"));
    CHECK(weak_key_reason("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") ==
          std::optional<std::string>("too few distinct characters"));
    CHECK(weak_key_reason("abababababababababababab") ==
          std::optional<std::string>("too few distinct characters"));
    CHECK_FALSE(weak_key_reason("pk_acme_Zq8XbL2mRt4Kd9VwN3pHc7YsF6jGe1Ua0i5Q"));
    CHECK_FALSE(weak_key_reason("01234567890123456789")); // 20 characters, ~66 bits
}

TEST_CASE("no diagnostic ever quotes a secret", "[config_loader]") {
    const std::string key = "pk_acme_test0003_fake_QqWwEeRrTtYy";
    const std::string text = "api_keys:\n"
                             "  - key_hash: \"" +
                             key +
                             "\"\n    role: admin\n"
                             "  - key: \"" +
                             key +
                             "\"\n    role: viewer\n"
                             "  - key: \"" +
                             key +
                             "\"\n    role: admin\n"
                             "  - " +
                             key +
                             "\n"
                             "  - {key: \"" +
                             key + "\", role: admin, id: \"" + key +
                             " x\"}\n"
                             "  - {key: [\"" +
                             key +
                             "\"], role: admin}\n"
                             "  - {key_hash: \"" +
                             key + "\", role: admin, previous_keys: " + key +
                             "}\n"
                             "  - {key_hash: \"" +
                             std::string(k_hash_2) + "\", role: admin, rate_limit: " + key + "}\n";
    const LoadResult r = load(text);
    REQUIRE(r.diagnostics.error_count() >= 7);
    for (const Diagnostic& d : r.diagnostics.items) {
        INFO(d.message);
        CHECK(d.message.find("QqWwEeRr") == std::string::npos);
    }
}

TEST_CASE("a map key of over 40 characters is cut to 16 in messages", "[config_loader]") {
    const LoadResult r = load("api_keys: []\npk_acme_test0004_fake_AbCdEfGhIjKlMnOpQrStUv: 1\n");
    CHECK(lines_of(r) == Lines{"2:1: error: unknown field 'pk_acme_test0004...'"});
}

TEST_CASE("diagnostics beyond 1000 of a kind are counted, not kept", "[config_loader]") {
    std::string text = "api_keys: []\n";
    for (int i = 0; i < 1500; ++i)
        text += "unknown_" + std::to_string(i) + ": 1\n";
    const LoadResult r = load(text);
    CHECK_FALSE(r.config);
    REQUIRE(r.diagnostics.items.size() == 1001);
    CHECK(r.diagnostics.items.back().message == "500 more errors not shown");
    CHECK(r.diagnostics.items.back().line == 0);
    CHECK(r.diagnostics.error_count() == 1001);
}

TEST_CASE("the diagnostic collector caps each severity separately", "[config_loader]") {
    DiagnosticCollector out(2);
    for (int i = 0; i < 5; ++i)
        out.warning({i + 1, 1}, "w");
    CHECK_FALSE(out.has_errors());
    out.error({9, 1}, "e");
    CHECK(out.has_errors());
    const Diagnostics d = out.take();
    REQUIRE(d.items.size() == 4);
    CHECK(d.items[0].message == "w");
    CHECK(d.items[2].message == "e");
    CHECK(d.items[3].message == "3 more warnings not shown");
    CHECK(d.items[3].severity == Severity::warning);
}

TEST_CASE("a duplicate secret with a default id is one error, not two", "[config_loader]") {
    const LoadResult r =
        load("api_keys:\n  - {key_hash: \"" + std::string(k_hash_1) +
             "\", role: admin}\n  - {key_hash: \"" + std::string(k_hash_1) + "\", role: admin}\n");
    CHECK(lines_of(r) == Lines{"3:16: error: same secret as key 'k-111111111111' (line 2)"});
}

TEST_CASE("a secret at most once across keys and previous keys", "[config_loader]") {
    const std::string text = "api_keys:\n"
                             "  - key_hash: \"" +
                             std::string(k_hash_1) +
                             "\"\n"
                             "    role: admin\n"
                             "    previous_keys:\n"
                             "      - {key_hash: \"" +
                             std::string(k_hash_2) +
                             "\", expires_at: 2099-01-01}\n"
                             "  - {key_hash: \"" +
                             std::string(k_hash_2) + "\", id: other, role: admin}\n";
    CHECK(lines_of(load(text)) ==
          Lines{"6:16: error: same secret as a previous key of key 'k-111111111111' (line 5)"});
}

TEST_CASE("yaml-cpp's own limits are not reached: our depth limit comes first", "[config_loader]") {
    SECTION("10 000 nested flow sequences") {
        // The top-level map is level 1: the 64th '[' (column 74) is level 65.
        const std::string text = "api_keys: " + std::string(10000, '[') + std::string(10000, ']');
        CHECK(lines_of(load(text)) == Lines{"1:74: error: nesting deeper than 64 levels"});
    }
    SECTION("10 000 nested flow maps") {
        std::string text = "api_keys: ";
        for (int i = 0; i < 10000; ++i)
            text += "{a: ";
        text += "1";
        for (int i = 0; i < 10000; ++i)
            text += "}";
        const LoadResult r = load(text);
        CHECK_FALSE(r.config);
        CHECK(lines_of(r) == Lines{"1:263: error: nesting deeper than 64 levels"});
    }
    SECTION("block maps nested 100 deep") {
        std::string text;
        for (int i = 0; i < 100; ++i)
            text += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
        CHECK(lines_of(load(text)) == Lines{"65:65: error: nesting deeper than 64 levels"});
    }
    SECTION("64 levels are fine for the parser") {
        const std::string text =
            "x: " + std::string(63, '[') + std::string(63, ']') + "\napi_keys: []\n";
        CHECK(lines_of(load(text)) == Lines{"1:1: error: unknown field 'x'"});
    }
}

TEST_CASE("a billion-laughs file is refused at once, never expanded", "[config_loader]") {
    std::string text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i < 10; ++i) {
        text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
        for (int j = 0; j < 9; ++j)
            text += (j ? ", *l" : "*l") + std::to_string(i - 1);
        text += "]\n";
    }
    text += "api_keys: *l9\n";
    const auto start = std::chrono::steady_clock::now();
    const LoadResult r = load(text);
    CHECK(seconds_since(start) < 1.0);
    CHECK_FALSE(r.config);
    // 10 anchors, 9 * 9 + 1 aliases, 10 unknown fields.
    CHECK(r.diagnostics.error_count() == 10 + 82 + 10);
    CHECK(lines_of(r).back() == "11:11: error: yaml aliases are not allowed ('*l9')");
}

TEST_CASE("the parser's node limit stops a flood of tiny nodes", "[config_loader]") {
    std::string text = "api_keys: [";
    for (int i = 0; i < 200; ++i)
        text += "a, ";
    text += "a]\n";
    DiagnosticCollector out;
    yaml::ParseLimits limits;
    limits.max_nodes = 100;
    CHECK_FALSE(yaml::parse_document(text, out, limits));
    const Diagnostics d = out.take();
    REQUIRE(d.items.size() == 1);
    CHECK(d.items[0].message == "file has too many yaml nodes (more than 100)");
}

TEST_CASE("the yaml tree keeps places, kinds and file order", "[config_loader]") {
    DiagnosticCollector out;
    const auto doc = yaml::parse_document("b: [1, \"two\"]\na: {x: ~}\nc:\n", out);
    REQUIRE(doc);
    CHECK(out.take().items.empty());
    const yaml::NodeId root = doc->root();
    REQUIRE(doc->kind(root) == yaml::NodeKind::map);
    CHECK(doc->size(root) == 3);
    std::vector<std::string> keys;
    std::vector<yaml::NodeId> values;
    doc->for_each_entry(root, [&](yaml::NodeId k, yaml::NodeId v) {
        keys.emplace_back(doc->text(k));
        values.push_back(v);
    });
    CHECK(keys == std::vector<std::string>{"b", "a", "c"});
    CHECK(doc->kind(values[0]) == yaml::NodeKind::sequence);
    CHECK(doc->size(values[0]) == 2);
    std::vector<yaml::NodeId> items;
    doc->for_each_item(values[0], [&](yaml::NodeId i) { items.push_back(i); });
    CHECK(doc->text(items[0]) == "1");
    CHECK_FALSE(doc->node(items[0]).quoted);
    CHECK(doc->text(items[1]) == "two");
    CHECK(doc->node(items[1]).quoted);
    CHECK(doc->place(items[1]).line == 1);
    CHECK(doc->place(items[1]).column == 8);
    doc->for_each_entry(values[1], [&](yaml::NodeId, yaml::NodeId v) {
        CHECK(doc->kind(v) == yaml::NodeKind::null); // "~"
    });
    // A missing value takes its key's place.
    CHECK(doc->kind(values[2]) == yaml::NodeKind::null);
    CHECK(doc->place(values[2]).line == 3);
    CHECK(doc->place(values[2]).column == 1);
}

// ---- hostile and broken input ------------------------------------------------------------------

TEST_CASE("text over max_file_bytes is one error, not parsed", "[config_loader]") {
    LoadOptions options;
    options.max_file_bytes = 100;
    const std::string text = "api_keys: []\n" + std::string(100, '#');
    CHECK(lines_of(load_config_text(text, options)) ==
          Lines{"0:0: error: file too large (113 bytes; the limit is 100)"});
    CHECK(load_config_text(text.substr(0, 100), options).config);
}

TEST_CASE("the default size limit is 64 MiB", "[config_loader]") {
    CHECK(LoadOptions{}.max_file_bytes == 64u * 1024 * 1024);
}

TEST_CASE("a file over the limit is refused without being read", "[config_loader]") {
    TempDir dir;
    const fs::path path = dir.path() / "huge.yaml";
    {
        // Sparse: 65 MiB on paper, nothing on disk, so the test is instant.
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, off_t{65} << 20) == 0);
        ::close(fd);
    }
    const auto start = std::chrono::steady_clock::now();
    const LoadResult r = load_config_file(path.string(), LoadOptions{});
    CHECK(seconds_since(start) < 0.5);
    CHECK(lines_of(r) ==
          Lines{"0:0: error: file too large (68157440 bytes; the limit is 67108864)"});
}

TEST_CASE("50 MB of binary junk gives one clear error, fast", "[config_loader]") {
    TempDir dir;
    const fs::path path = dir.path() / "junk.yaml";
    {
        std::mt19937_64 random(42);
        std::string junk;
        junk.resize(50'000'000);
        for (std::size_t i = 0; i + 8 <= junk.size(); i += 8) {
            const std::uint64_t v = random();
            std::memcpy(junk.data() + i, &v, 8);
        }
        std::ofstream(path, std::ios::binary) << junk;
    }
    const auto start = std::chrono::steady_clock::now();
    const LoadResult r = load_config_file(path.string(), LoadOptions{});
    CHECK(seconds_since(start) < 2.0);
    CHECK_FALSE(r.config);
    REQUIRE(r.diagnostics.items.size() == 1);
    const std::string& message = r.diagnostics.items[0].message;
    CHECK((message == "file contains a NUL byte (is it a binary file?)" ||
           message == "file is not valid utf-8 (is it a binary file?)"));
}

TEST_CASE("binary and non-UTF-8 text is refused with its place", "[config_loader]") {
    CHECK(lines_of(load(std::string("api_keys: []\nx\0y", 16))) ==
          Lines{"2:2: error: file contains a NUL byte (is it a binary file?)"});
    CHECK(lines_of(load("api_keys: []\n# \xC0\xAF overlong\n")) ==
          Lines{"2:3: error: file is not valid utf-8 (is it a binary file?)"});
    CHECK(lines_of(load("api_keys: []\n# \xED\xA0\x80 surrogate\n")) ==
          Lines{"2:3: error: file is not valid utf-8 (is it a binary file?)"});
    CHECK(lines_of(load("api_keys: []\n# \xF4\x90\x80\x80 beyond U+10FFFF\n")) ==
          Lines{"2:3: error: file is not valid utf-8 (is it a binary file?)"});
    CHECK(lines_of(load("api_keys: []\n# \xE0\x80\x80 overlong\n")) ==
          Lines{"2:3: error: file is not valid utf-8 (is it a binary file?)"});
    // Every length of valid sequence passes: U+00E9, U+65E5, U+1F511.
    CHECK(load("api_keys: []\n# \xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x94\x91\n").config);
    CHECK(lines_of(load("api_keys: []\n# cut \xE2\x82")) ==
          Lines{"2:7: error: file is not valid utf-8 (is it a binary file?)"});
    // UTF-16 and UTF-32 are told by their byte order mark.
    CHECK(lines_of(load(std::string("\xFF\xFE"
                                    "a\0",
                                    4))) ==
          Lines{"1:1: error: file is utf-16 or utf-32 (save it as utf-8)"});
    CHECK(lines_of(load(std::string("\xFE\xFF\0a", 4))) ==
          Lines{"1:1: error: file is utf-16 or utf-32 (save it as utf-8)"});
    // Without one, the first NUL byte says it.
    CHECK(lines_of(load(std::string("a\0:\0 \0", 6))) ==
          Lines{"1:2: error: file contains a NUL byte (is it a binary file?)"});
}

TEST_CASE("empty, blank and comment-only files are errors", "[config_loader]") {
    const Lines empty{"1:1: error: file is empty (write 'api_keys: []' to mean no keys)"};
    CHECK(lines_of(load("")) == empty);
    CHECK(lines_of(load(" \n\t\r\n")) == empty);
    CHECK(lines_of(load("\xEF\xBB\xBF\n")) == empty);
    CHECK(lines_of(load("# nothing\n")) == empty);
    CHECK(lines_of(load("---\n")) == empty);
    CHECK(lines_of(load("---\n...\n")) == empty);
    CHECK(lines_of(load("settings: {}\n")) ==
          Lines{"1:1: error: missing 'api_keys' (write 'api_keys: []' to mean no keys)"});
    CHECK(lines_of(load("api_keys: ~\n")) ==
          Lines{"1:1: error: 'api_keys' has no value (write 'api_keys: []' to mean no keys)"});
}

TEST_CASE("a file cut anywhere never loads as a file without keys", "[config_loader]") {
    std::ifstream in(std::string(KEYGATE_TEST_DATA) + "/valid/complete.yaml");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(text.size() > 1000);
    std::size_t loaded = 0;
    for (std::size_t cut = 0; cut < text.size(); ++cut) {
        // Every third byte and both sides of every line end: thorough enough, and fast.
        const bool at_line_end = text[cut] == '\n' || (cut > 0 && text[cut - 1] == '\n');
        if (cut % 3 != 0 && !at_line_end)
            continue;
        const LoadResult r = load(text.substr(0, cut));
        if (!r.config) {
            CHECK(r.diagnostics.error_count() > 0);
            continue;
        }
        ++loaded;
        INFO("cut at byte " << cut);
        CHECK_FALSE(r.config->api_keys.empty());
    }
    CHECK(loaded > 0);
}

TEST_CASE("random bytes and mutations never crash or escape the loader", "[config_loader]") {
    std::ifstream in(std::string(KEYGATE_TEST_DATA) + "/valid/complete.yaml");
    const std::string base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::mt19937 random(7);
    const std::string alphabet = "{}[]:,-?&*!|>'\"#% \n\tab01@`";
    for (int round = 0; round < 300; ++round) {
        std::string text = base;
        const int edits = 1 + static_cast<int>(random() % 8);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = random() % text.size();
            text[at] = alphabet[random() % alphabet.size()];
        }
        const LoadResult r = load(text);
        CHECK((r.config.has_value() == (r.diagnostics.error_count() == 0)));
    }
}

TEST_CASE("an unreadable path is one error at 0:0", "[config_loader]") {
    TempDir dir;
    CHECK(lines_of(load_config_file((dir.path() / "missing.yaml").string(), LoadOptions{})) ==
          Lines{"0:0: error: cannot open the file (no such file or directory)"});
    CHECK(lines_of(load_config_file(dir.path().string(), LoadOptions{})) ==
          Lines{"0:0: error: cannot read the file (it is a directory)"});
}

// ---- the fast path: the same events as yaml-cpp, or none ------------------------------------

namespace {

/// Every event with its mark, as text.
class EventRecorder final : public YAML::EventHandler {
  public:
    std::vector<std::string> events;

    void OnDocumentStart(const YAML::Mark&) override { events.push_back("doc"); }
    void OnDocumentEnd() override { events.push_back("end doc"); }
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override {
        events.push_back("null " + at(m) + " " + std::to_string(a));
    }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
        events.push_back("alias " + at(m) + " " + std::to_string(a));
    }
    void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                  const std::string& value) override {
        events.push_back("scalar " + at(m) + " " + tag + " " + std::to_string(a) + " [" + value +
                         "]");
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                         YAML::EmitterStyle::value) override {
        events.push_back("seq " + at(m) + " " + tag + " " + std::to_string(a));
    }
    void OnSequenceEnd() override { events.push_back("end seq"); }
    void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                    YAML::EmitterStyle::value) override {
        events.push_back("map " + at(m) + " " + tag + " " + std::to_string(a));
    }
    void OnMapEnd() override { events.push_back("end map"); }

  private:
    static std::string at(const YAML::Mark& m) {
        return std::to_string(m.pos) + "@" + std::to_string(m.line) + ":" +
               std::to_string(m.column);
    }
};

/// yaml-cpp's events, or nullopt when it throws. At most 2 documents: yaml-cpp 0.7 loops
/// forever on some broken input (the loader stops at the second document).
std::optional<std::vector<std::string>> yaml_cpp_events(const std::string& text) {
    EventRecorder recorder;
    try {
        std::ispanstream in(std::span<const char>(text.data(), text.size()));
        YAML::Parser parser(in);
        for (int documents = 0; documents < 2 && parser.HandleNextDocument(recorder); ++documents) {
        }
    } catch (...) {
        return std::nullopt;
    }
    return recorder.events;
}

/// A document as text: every node's kind, place, quoting and scalar text, depth first.
void describe(const yaml::Document& doc, yaml::NodeId id, std::string& out) {
    const yaml::Node& n = doc.node(id);
    out += std::to_string(static_cast<int>(n.kind)) + "@" + std::to_string(n.line) + ":" +
           std::to_string(n.column) + (n.quoted ? "q" : "") + "[" + std::string(doc.text(id)) + "]";
    if (n.kind == yaml::NodeKind::sequence || n.kind == yaml::NodeKind::map) {
        out += "(";
        if (n.kind == yaml::NodeKind::sequence) {
            doc.for_each_item(id, [&](yaml::NodeId item) { describe(doc, item, out); });
        } else {
            doc.for_each_entry(id, [&](yaml::NodeId k, yaml::NodeId v) {
                describe(doc, k, out);
                out += "=";
                describe(doc, v, out);
            });
        }
        out += ")";
    }
    out += ",";
}

std::string describe(const std::optional<yaml::Document>& doc) {
    if (!doc)
        return "no document";
    if (doc->root() == yaml::k_no_node)
        return "empty";
    std::string out;
    describe(*doc, doc->root(), out);
    return out;
}

/// Checks the fast path against yaml-cpp on `text`; true when the fast path took it. The
/// events must be the same, and so must the trees (the fast path's scalars view the text).
bool fast_path_agrees(const std::string& text) {
    EventRecorder fast;
    if (!yaml::parse_simple_subset(text, fast))
        return false;
    INFO("input:\n" << text);
    const auto reference = yaml_cpp_events(text);
    REQUIRE(reference); // the fast path took a text that yaml-cpp refuses
    CHECK(fast.events == *reference);
    DiagnosticCollector fast_out;
    DiagnosticCollector slow_out;
    yaml::ParseLimits slow;
    slow.fast_path = false;
    CHECK(describe(yaml::parse_document(text, fast_out)) ==
          describe(yaml::parse_document(text, slow_out, slow)));
    return true;
}

std::string read_data(const std::string& relative) {
    std::ifstream in(std::string(KEYGATE_TEST_DATA) + "/" + relative, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Snippets at the edges of the subset: each is either taken with yaml-cpp's exact events
/// or left to yaml-cpp.
const std::vector<std::string>& tricky_snippets() {
    static const std::vector<std::string> snippets = {
        "a:\n- x\n- y\nb: 1\n",
        "- key:\n  - a\n  - b\n- k2: v\n",
        "- key:\n    - a\n  other: 2\n",
        "-\n  a: 1\n- b\n",
        "a:   v   # c\nb: \"x\" # c\nc: 'it''s'\nd: \"esc \\\" \\\\ \\/ \\n \\t\"\n",
        "a: a#b\nb: c #d\nc: e:f\nd: http://x:80/y\n",
        "a: b: c\n",
        "a: -5s\nb: - x\n",
        "key with spaces: 1\n\"quoted key\": 2\n'single' : 3\n",
        "a: plain\n  continued\n",
        "a: [1, 2, [3, {x: y}]]\nb: {k: [a, b], j: \"q\"}\n",
        "a: [1, 2,]\n",
        "a: {x}\n",
        "a: [a: b]\n",
        "a: {x: }\n",
        "a:\n  b:\n    c:\n      - d\n      - e: f\n        g: h\n  i: j\n",
        "a: 1\n b: 2\n",
        "  a: 1\nb: 2\n",
        "a: 1\na: 2\n",
        "- - a\n",
        "a: \"unterminated\n",
        "a: x\n- b\n",
        "a: \"\xC3\xA9\"\n\"\xC3\xA9\": \xC3\xBC\n",
        "a: 1 # c\n# full\n  # indented comment\nb:\n  # comment before\n  - x\n",
        "a: ~\nb: null\nc: [~, null, Null, NULL]\nd: {e: ~}\nNull: 1\n",
        "a: [10.0.0.0/8, \"::1/128\", 2024-01-01T00:00:00Z]\nb: {t: 2024-02-01T00:00:00Z, u: x}\n",
        "a: ::1\nb: [::1]\n",
        "a: @x\n",
        "a: `x\n",
        "a: x]\nb: y}\n",
        "a: [x] y\n",
        "a:\nb:\n",
        "a:\n  - \n  - x\n",
        "? a\n: b\n",
        "a: !t x\n",
        "a: |\n  text\n",
        "a:b\n",
        "[a, b]\n",
        "{a: b}\n",
        "a: [\n  b]\n",
        "a: \"x\"y\n",
        "a: 'x'#y\n",
        "a: b #\nc: d#\n",
        "a: 1\n...\n",
        "a: 1\n---\n",
        "a: [b, c] #x\n",
        "a: {b: c}, d\n",
        "a: 0x1F\nb: 1e3\nc: +1\nd: .inf\n",
        "a :b\n",
        "a: -\n",
        "a: ?\n",
        "a: ? x\n",
        "a: :x\n",
        "a: [-x, -5]\n",
        "a: [? x]\n",
        "a: x,y\nb: [x y, z]\n",
        "a:  \n    b: 1\n",
        "- a\n  - b\n",
        "a:\n    - x\n    - y\n  b: 1\n",
        "- a: 1\n   b: 2\n",
        "- a: 1\n b: 2\n",
        "a: 1\r\nb: [x]\r\n",
        "a: 1\rb: 2\n",
        "a: x\ty\n",
        "a: x\x7Fy\n",
        "a: x\xC2\x85y\n",
        std::string("\xEF\xBB\xBF") + "a: 1\n",
        "a: 1",
        "a:",
        "# only\n",
        "",
        "a: &x 1\nb: *x\n",
        "a: 'x\n",
        "a: \"\\x41\"\n",
        "- \n",
        "-\n- a\n",
        "a:\n-\n",
        // Empty values at the end of the text, where yaml-cpp's marks follow its scanner.
        "a:\n  b:\n ",
        "   a:\n   b:\n   a:\n ",
        "a:\n      b:\n   ",
        "x: 1\nkey: ",
        "a:\n  b:\n  # c",
        "a:\n  b:\n  # c\n",
        "a: ---\nb: ...\n",
        "- ---\n- ...x\n",
        "a: -- x\nb: \"a\" # c\nc: x # y # z\n",
        "a:\n\n  - x\n\n  - y\n",
        "\"a\": \n\"b\":\n",
        // yaml-cpp refuses keys over 1024 characters.
        std::string(1000, 'k') + ": 1\n",
        std::string(1025, 'k') + ": 1\n",
        "x: {" + std::string(1025, 'k') + ": 1}\n",
    };
    return snippets;
}

} // namespace

TEST_CASE("the fast path gives yaml-cpp's events on every data file it takes", "[config_loader]") {
    std::size_t taken = 0;
    for (const auto& dir : {"valid", "invalid"}) {
        for (const auto& entry : fs::directory_iterator(fs::path(KEYGATE_TEST_DATA) / dir)) {
            if (entry.path().extension() != ".yaml")
                continue;
            if (fast_path_agrees(
                    read_data(std::string(dir) + "/" + entry.path().filename().string()))) {
                ++taken;
            }
        }
    }
    CHECK(taken >= 30);
}

TEST_CASE("the fast path takes the files keygate users write", "[config_loader]") {
    CHECK(fast_path_agrees(read_data("valid/complete.yaml")));
    CHECK(fast_path_agrees(read_data("valid/contract_example.yaml")));
    const std::string example = read_data("../../keys.example.yaml");
    if (!example.empty())
        CHECK(fast_path_agrees(example));
    std::string generated = "version: 1\napi_keys:\n";
    for (int i = 0; i < 200; ++i) {
        generated += "  - key_hash: \"sha256:" + to_hex(sha256(std::to_string(i))) +
                     "\"\n"
                     "    id: key-" +
                     std::to_string(i) + "\n    tenant: t" + std::to_string(i % 7) +
                     "\n    role: analyst\n    allowed_datasets: [orders, \"sales_*\"]\n"
                     "    previous_keys:\n      - {key_hash: \"sha256:" +
                     to_hex(sha256("old" + std::to_string(i))) +
                     "\", expires_at: 2030-01-01T00:00:00Z}\n";
    }
    CHECK(fast_path_agrees(generated));
}

TEST_CASE("the fast path on snippets at the edge of its subset", "[config_loader]") {
    std::size_t taken = 0;
    for (const std::string& text : tricky_snippets()) {
        if (fast_path_agrees(text))
            ++taken;
    }
    CHECK(taken >= 20);
}

TEST_CASE("the fast path agrees with yaml-cpp on random mutations", "[config_loader]") {
    std::vector<std::string> corpus = tricky_snippets();
    corpus.push_back(read_data("valid/complete.yaml"));
    corpus.push_back(read_data("valid/contract_example.yaml"));
    corpus.push_back(read_data("invalid/wrong_type.yaml"));
    corpus.push_back(read_data("invalid/same_secret_twice.yaml"));
    std::mt19937 random(20240115);
    const std::string alphabet = "{}[]:,-?&*!|>'\"#% \n\r\tab01@`\\.~";
    std::size_t taken = 0;
    for (int round = 0; round < 1500; ++round) {
        std::string text = corpus[random() % corpus.size()];
        for (int e = 1 + static_cast<int>(random() % 4); e > 0 && !text.empty(); --e) {
            const std::size_t at = random() % text.size();
            const char c = alphabet[random() % alphabet.size()];
            const std::size_t line_start =
                text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
            switch (random() % 5) {
            case 0:
                text[at] = c;
                break;
            case 1:
                text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
                break;
            case 2:
                text.erase(at, 1);
                break;
            case 3: // indent a line more
                text.insert(line_start, 1 + random() % 3, ' ');
                break;
            default: // or less
                if (text[line_start] == ' ')
                    text.erase(line_start, 1);
                break;
            }
        }
        if (fast_path_agrees(text))
            ++taken;
    }
    CHECK(taken > 150); // mutations often leave the subset (tabs, anchors, ...): fine
}

TEST_CASE("the loader gives the same result with and without the fast path", "[config_loader]") {
    for (const std::string& text : tricky_snippets()) {
        DiagnosticCollector fast_out;
        DiagnosticCollector slow_out;
        yaml::ParseLimits slow;
        slow.fast_path = false;
        const auto fast_doc = yaml::parse_document(text, fast_out);
        const auto slow_doc = yaml::parse_document(text, slow_out, slow);
        INFO("input:\n" << text);
        CHECK(fast_doc.has_value() == slow_doc.has_value());
        const Diagnostics a = fast_out.take();
        const Diagnostics b = slow_out.take();
        REQUIRE(a.items.size() == b.items.size());
        for (std::size_t i = 0; i < a.items.size(); ++i) {
            CHECK(a.items[i].message == b.items[i].message);
            CHECK(a.items[i].line == b.items[i].line);
            CHECK(a.items[i].column == b.items[i].column);
        }
    }
}

TEST_CASE("input on which yaml-cpp 0.7 loops forever still ends", "[config_loader]") {
    // yaml-cpp returns empty documents from this forever; the second one stops the load.
    const LoadResult r = load("  ,\n-b\t\n  \n");
    CHECK_FALSE(r.config);
    CHECK(r.diagnostics.error_count() >= 1);
}

TEST_CASE("100 000 keys load within a second", "[.][perf]") {
    // Hidden: meaningful in a Release build only (`unit_tests "[perf]"`).
    std::string text = "version: 1\napi_keys:\n";
    text.reserve(20'000'000);
    for (int i = 0; i < 100'000; ++i) {
        text += "  - key_hash: \"sha256:" + to_hex(sha256(std::to_string(i))) + "\"\n    id: key-" +
                std::to_string(i) + "\n    tenant: tenant_" + std::to_string(i % 100) +
                "\n    role: analyst\n    allowed_datasets: [orders, customers]\n";
    }
    const auto start = std::chrono::steady_clock::now();
    const LoadResult r = load(text);
    const double elapsed = seconds_since(start);
    REQUIRE(r.config);
    CHECK(r.config->api_keys.size() == 100'000);
    WARN("100 000 keys (" << text.size() / 1'000'000 << " MB) loaded in " << elapsed << " s");
    CHECK(elapsed < 1.0);
}

TEST_CASE("only a regular file is read: a FIFO or a device is refused at once, never a wait",
          "[config_loader]") {
    TempDir dir;
    const fs::path fifo = dir.path() / "keys.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    const LoadResult from_fifo = load_config_file(fifo.string(), LoadOptions{});
    CHECK(seconds_since(start) < 0.5); // a blocking open() would wait for a writer forever
    CHECK(lines_of(from_fifo) ==
          Lines{"0:0: error: cannot read the file (it is a FIFO; only a regular file is read)"});
    const LoadResult from_zero = load_config_file("/dev/zero", LoadOptions{});
    CHECK(lines_of(from_zero) == Lines{"0:0: error: cannot read the file (it is a character "
                                       "device; only a regular file is read)"});
    // A symlink to a regular file is a regular file.
    const fs::path real = dir.path() / "real.yaml";
    std::ofstream(real) << "api_keys: []\n";
    fs::create_symlink(real, dir.path() / "link.yaml");
    CHECK(load_config_file((dir.path() / "link.yaml").string(), LoadOptions{}).config);
}

TEST_CASE("validate's reads (regular_files_only off) still take a pipe", "[config_loader]") {
    TempDir dir;
    const fs::path fifo = dir.path() / "keys.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::thread writer([&] { std::ofstream(fifo) << "api_keys: []\n"; });
    LoadOptions options;
    options.regular_files_only = false;
    const LoadResult r = load_config_file(fifo.string(), options);
    writer.join();
    CHECK(r.config);
}
