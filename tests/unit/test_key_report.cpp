// The key hygiene report: which keys land in which section, the JSON and the text.
#include "infra/key_report.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

const TimePoint k_now = *parse_timestamp("2025-06-01T00:00:00Z");

KeyEntry entry(const char* id, const char* tenant = "acme") {
    KeyEntry e;
    e.id = id;
    e.role = "viewer";
    if (tenant != nullptr)
        e.tenant = tenant;
    e.secret = {HashKind::sha256, sha256(std::string("secret-of-") + id)};
    e.line = 1;
    return e;
}

/// soon, later, stale, off (disabled), gone (expired), rotated; grace windows for a removed
/// id and for the disabled one.
std::shared_ptr<const KeyStore> sample_store() {
    Config c;
    c.roles = builtin_roles();
    KeyEntry soon = entry("soon");
    soon.expires_at = k_now + 72h;
    soon.rate_limit = 10;
    KeyEntry later = entry("later");
    later.expires_at = k_now + 24h * 40;
    later.daily_limit = 100;
    KeyEntry stale = entry("stale", nullptr);
    stale.role = "admin";
    stale.rate_limit = 5;
    KeyEntry off = entry("off");
    off.enabled = false;
    off.expires_at = k_now + 48h;
    KeyEntry gone = entry("gone");
    gone.expires_at = k_now - 24h;
    KeyEntry rotated = entry("rotated");
    rotated.rate_limit = 1;
    rotated.previous_keys.push_back({{HashKind::sha256, sha256("old-1")}, k_now + 48h});
    rotated.previous_keys.push_back({{HashKind::sha256, sha256("old-0")}, k_now - 24h});
    c.api_keys = {soon, later, stale, off, gone, rotated};
    std::vector<GraceSecret> grace;
    grace.push_back({{HashKind::sha256, sha256("removed-old")}, entry("removed"), k_now + 1h});
    grace.push_back({{HashKind::sha256, sha256("off-old")}, entry("off"), k_now + 1h});
    grace.push_back({{HashKind::sha256, sha256("closed-old")}, entry("closed"), k_now - 1h});
    return KeyStore::build(c, std::nullopt, grace);
}

std::vector<UsageTracker::Totals> sample_usage() {
    return {{"soon", 10, k_now - 24h * 90, k_now - 1h, 0, std::nullopt},
            {"stale", 4, k_now - 24h * 90, k_now - 24h * 31, 0, std::nullopt},
            {"rotated", 20, k_now - 24h * 90, k_now - 2h, 3, k_now - 2h},
            {"gone", 1, k_now - 24h * 90, k_now - 1h, 0, std::nullopt}};
}

std::vector<std::string> ids(const std::vector<ReportedKey>& keys) {
    std::vector<std::string> out;
    for (const auto& k : keys)
        out.push_back(k.key_id);
    return out;
}

} // namespace

TEST_CASE("report: each section holds the keys that still work and match it", "[report]") {
    const auto store = sample_store();
    const auto usage = sample_usage();
    const KeyReport report = build_key_report(*store, &usage, k_now, ReportWindows{});
    CHECK(report.keys == 6);
    CHECK(report.usage_known);
    CHECK(ids(report.expiring) == std::vector<std::string>{"soon"});
    CHECK(ids(report.unused) == std::vector<std::string>{"later", "stale"});
    CHECK(ids(report.no_rate_limit) == std::vector<std::string>{"later"});
    REQUIRE(report.old_secrets.size() == 2);
    CHECK(report.old_secrets[0].key_id == "rotated");
    CHECK(report.old_secrets[0].previous_keys_until == k_now + 48h);
    CHECK_FALSE(report.old_secrets[0].grace_until);
    CHECK(report.old_secrets[0].requests == 3u);
    CHECK(report.old_secrets[0].last_used == k_now - 2h);
    CHECK(report.old_secrets[1].key_id == "removed");
    CHECK(report.old_secrets[1].grace_until == k_now + 1h);
    CHECK(report.old_secrets[1].requests == 0u);
    CHECK_FALSE(report.old_secrets[1].last_used);

    // Windows move the boundaries: 3 days is the edge of `soon`, 41 days takes `later` too.
    ReportWindows narrow;
    narrow.expiring = 72h;
    narrow.unused = 24h * 32;
    const KeyReport edge = build_key_report(*store, &usage, k_now, narrow);
    CHECK(ids(edge.expiring) == std::vector<std::string>{"soon"});
    CHECK(ids(edge.unused) == std::vector<std::string>{"later"}); // stale: 31 days only
    ReportWindows wide;
    wide.expiring = 24h * 41;
    CHECK(ids(build_key_report(*store, &usage, k_now, wide).expiring) ==
          std::vector<std::string>{"soon", "later"});
    narrow.expiring = 71h;
    CHECK(build_key_report(*store, &usage, k_now, narrow).expiring.empty());
}

TEST_CASE("report: without usage totals, unused and old-secret use are unknown", "[report]") {
    const auto store = sample_store();
    const KeyReport report = build_key_report(*store, nullptr, k_now, ReportWindows{});
    CHECK_FALSE(report.usage_known);
    CHECK(report.unused.empty());
    REQUIRE(report.old_secrets.size() == 2);
    CHECK_FALSE(report.old_secrets[0].requests);
    const auto json = key_report_json(report);
    CHECK(json["unused"].is_null());
    CHECK(json["usage_known"] == false);
    CHECK(json["old_secrets"][0]["requests"].is_null());
    const std::string text = key_report_text(report, "keys.yaml");
    CHECK(text.find("unused for 30d: unknown (no usage state: give --state-dir or "
                    "KEYGATE_STATE_DIR)\n") != std::string::npos);
    CHECK(text.find("  rotated (tenant acme) previous_keys until 2025-06-03T00:00:00Z\n") !=
          std::string::npos);
}

TEST_CASE("report: the JSON, field by field", "[report]") {
    const auto store = sample_store();
    const auto usage = sample_usage();
    const auto json = key_report_json(build_key_report(*store, &usage, k_now, ReportWindows{}));
    CHECK(
        json.dump() ==
        R"({"generated_at":"2025-06-01T00:00:00.000Z","keys":6,"expiring_within":"30d",)"
        R"("unused_for":"30d","usage_known":true,)"
        R"("expiring":[{"key_id":"soon","tenant":"acme","role":"viewer","expires_at":"2025-06-04T00:00:00Z"}],)"
        R"("unused":[{"key_id":"later","tenant":"acme","role":"viewer","last_used":null},)"
        R"({"key_id":"stale","tenant":null,"role":"admin","last_used":"2025-05-01T00:00:00.000Z"}],)"
        R"("old_secrets":[{"key_id":"rotated","tenant":"acme","previous_keys_until":"2025-06-03T00:00:00Z",)"
        R"("grace_until":null,"requests":3,"last_used":"2025-05-31T22:00:00.000Z"},)"
        R"({"key_id":"removed","tenant":"acme","previous_keys_until":null,)"
        R"("grace_until":"2025-06-01T01:00:00Z","requests":0,"last_used":null}],)"
        R"("no_rate_limit":[{"key_id":"later","tenant":"acme","role":"viewer","daily_limit":100}]})");
    // Never a secret or a hash.
    CHECK(json.dump().find("sha256") == std::string::npos);
}

TEST_CASE("report: the text, section by section", "[report]") {
    const auto store = sample_store();
    const auto usage = sample_usage();
    const std::string text =
        key_report_text(build_key_report(*store, &usage, k_now, ReportWindows{}), "keys.yaml");
    CHECK(text == "keygate report for keys.yaml at 2025-06-01T00:00:00Z: 6 keys\n"
                  "expiring within 30d: 1\n"
                  "  soon (tenant acme) expires 2025-06-04T00:00:00Z\n"
                  "unused for 30d: 2\n"
                  "  later (tenant acme) never used\n"
                  "  stale (no tenant) last used 2025-05-01T00:00:00Z\n"
                  "rotated-out secrets still accepted: 2\n"
                  "  rotated (tenant acme) previous_keys until 2025-06-03T00:00:00Z: still used, "
                  "3 requests, last 2025-05-31T22:00:00Z\n"
                  "  removed (tenant acme) grace until 2025-06-01T01:00:00Z: not used\n"
                  "without a rate_limit: 1\n"
                  "  later (tenant acme) role viewer, daily_limit 100\n");
    // Empty sections say so.
    Config empty;
    empty.roles = builtin_roles();
    const std::vector<UsageTracker::Totals> none;
    CHECK(key_report_text(build_key_report(*KeyStore::build(empty), &none, k_now, ReportWindows{}),
                          "empty.yaml") ==
          "keygate report for empty.yaml at 2025-06-01T00:00:00Z: 0 keys\n"
          "expiring within 30d: none\n"
          "unused for 30d: none\n"
          "rotated-out secrets still accepted: none\n"
          "without a rate_limit: none\n");
}

TEST_CASE("report: the query of GET /v1/report", "[report]") {
    const auto defaults = parse_report_query("");
    REQUIRE(defaults);
    CHECK(defaults->expiring == 24h * 30);
    CHECK(defaults->unused == 24h * 30);
    const auto both = parse_report_query("expiring=7d&unused=90d");
    REQUIRE(both);
    CHECK(both->expiring == 24h * 7);
    CHECK(both->unused == 24h * 90);
    const auto one = parse_report_query("unused=12h");
    REQUIRE(one);
    CHECK(one->expiring == 24h * 30);
    CHECK(one->unused == 12h);
    CHECK(parse_report_query("expiring=soon").error().message ==
          "expiring must be a positive duration such as 30d");
    CHECK(parse_report_query("unused=0s").error().message ==
          "unused must be a positive duration such as 30d");
    CHECK(parse_report_query("expiring").error().message ==
          "expiring must be a positive duration such as 30d");
    CHECK(parse_report_query("expiring=1d&expiring=2d").error().message ==
          "parameter 'expiring' given twice");
    CHECK(parse_report_query("key=pk_secret").error().message ==
          "unknown parameter: only 'expiring' and 'unused' are accepted");
}
