#include "infra/build_info.hpp"
#include "infra/metrics.hpp"
#include "infra/process_stats.hpp"

#include <catch2/catch.hpp>
#include <ctime>
#include <regex>

using namespace keygate;
using namespace std::chrono_literals;

TEST_CASE("metrics: decisions, histogram and counters render as Prometheus text", "[metrics]") {
    Metrics m;
    m.observe_decision(DecisionEndpoint::auth_nginx, DecisionCode::ok, 40us);
    m.observe_decision(DecisionEndpoint::auth_nginx, DecisionCode::invalid_key, 3ms);
    m.observe_decision(DecisionEndpoint::auth, DecisionCode::rate_limited, 10us);
    m.count_alert(AlertType::new_ip);
    m.count_audit_event(AuditEventKind::auth);
    Metrics::Scrape scrape;
    scrape.config.generation = 3;
    scrape.config.reloads_failure = 1;
    scrape.config.last_reload_successful = false;
    scrape.config.last_success_at = *parse_timestamp("2025-01-01T00:00:01Z");
    scrape.audit_write_failures = 7;
    scrape.audit_queue_depth = 12;
    scrape.audit_blocked_seconds = 2.5;
    const std::string text = m.render(scrape);
    const auto has = [&](const std::string& line) {
        INFO(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has("keygate_requests_total{endpoint=\"/auth/nginx\",decision=\"allow\",code=\"OK\"} 1");
    has("keygate_requests_total{endpoint=\"/auth/nginx\",decision=\"deny\",code=\"INVALID_KEY\"} "
        "1");
    has("keygate_requests_total{endpoint=\"/auth\",decision=\"deny\",code=\"RATE_LIMITED\"} 1");
    has("# TYPE keygate_request_duration_seconds histogram");
    has("keygate_request_duration_seconds_bucket{le=\"5e-05\"} 2");
    has("keygate_request_duration_seconds_bucket{le=\"0.0025\"} 2");
    has("keygate_request_duration_seconds_bucket{le=\"0.005\"} 3");
    has("keygate_request_duration_seconds_bucket{le=\"+Inf\"} 3");
    has("keygate_request_duration_seconds_count 3");
    has("keygate_config_generation 3");
    has("keygate_config_last_reload_successful 0");
    has("keygate_config_last_reload_success_timestamp_seconds 1735689601");
    has("keygate_config_reloads_total{result=\"failure\"} 1");
    has("keygate_audit_events_total{event=\"auth\"} 1");
    has("keygate_audit_write_failures_total 7");
    has("# TYPE keygate_audit_queue_depth gauge");
    has("keygate_audit_queue_depth 12");
    has("# TYPE keygate_audit_blocked_seconds_total counter");
    has("keygate_audit_blocked_seconds_total 2.5");
    has("keygate_rate_limited_total 1");
    has("keygate_alerts_total{type=\"new_ip\"} 1");
    has("keygate_keys{state=\"active\"} 0");
}

TEST_CASE("metrics: key states", "[metrics]") {
    Config c;
    c.roles = builtin_roles();
    const auto add = [&](const char* id) -> KeyEntry& {
        KeyEntry e;
        e.id = id;
        e.role = "viewer";
        e.tenant = "t";
        e.secret = {HashKind::sha256, sha256(id)};
        c.api_keys.push_back(e);
        return c.api_keys.back();
    };
    const TimePoint now = *parse_timestamp("2025-06-01");
    add("active");
    add("disabled").enabled = false;
    add("expired").expires_at = *parse_timestamp("2025-01-01");
    add("pending").not_before = *parse_timestamp("2026-01-01");
    add("rotated").previous_keys.push_back(
        {{HashKind::sha256, sha256("old")}, *parse_timestamp("2025-07-01")});
    const auto counts = count_key_states(*KeyStore::build(c), now);
    CHECK(counts.active == 2);
    CHECK(counts.disabled == 1);
    CHECK(counts.expired == 1);
    CHECK(counts.pending == 1);
    CHECK(counts.grace == 1);
}

TEST_CASE("metrics: keygate_keys_expiring counts usable keys by window", "[metrics]") {
    Config c;
    c.roles = builtin_roles();
    const auto add = [&](const char* id, const char* expires_at) -> KeyEntry& {
        KeyEntry e;
        e.id = id;
        e.role = "viewer";
        e.tenant = "t";
        e.secret = {HashKind::sha256, sha256(id)};
        if (expires_at != nullptr)
            e.expires_at = *parse_timestamp(expires_at);
        c.api_keys.push_back(e);
        return c.api_keys.back();
    };
    const TimePoint now = *parse_timestamp("2025-06-01T00:00:00Z");
    add("no-expiry", nullptr);
    add("in-3d", "2025-06-04T00:00:00Z");
    add("at-7d", "2025-06-08T00:00:00Z");        // exactly 7 days: within both windows
    add("just-past-7d", "2025-06-08T00:00:01Z"); // only within 30d
    add("in-20d", "2025-06-21T00:00:00Z");
    add("in-31d", "2025-07-02T00:00:00Z");      // neither
    add("expired", "2025-05-31T00:00:00Z");     // already expired: neither
    add("expires-now", "2025-06-01T00:00:00Z"); // expired at `now`: neither
    add("disabled", "2025-06-03T00:00:00Z").enabled = false;
    add("pending", "2025-06-05T00:00:00Z").not_before = *parse_timestamp("2025-06-02");
    const auto store = KeyStore::build(c);

    const auto counts = count_expiring_keys(*store, now);
    CHECK(counts[0] == 3); // in-3d, at-7d, pending
    CHECK(counts[1] == 5); // + just-past-7d, in-20d

    Metrics m;
    Metrics::Scrape scrape;
    scrape.store = store.get();
    scrape.now = now;
    const std::string text = m.render(scrape);
    CHECK(text.find("# TYPE keygate_keys_expiring gauge\n") != std::string::npos);
    CHECK(text.find("keygate_keys_expiring{window=\"7d\"} 3\n") != std::string::npos);
    CHECK(text.find("keygate_keys_expiring{window=\"30d\"} 5\n") != std::string::npos);

    // Computed at scrape time: a day later the 7-day window holds one key more.
    const auto later = count_expiring_keys(*store, now + std::chrono::hours(24));
    CHECK(later[0] == 4);
    // Without a key set both series are there, at 0.
    const std::string empty = m.render(Metrics::Scrape{});
    CHECK(empty.find("keygate_keys_expiring{window=\"7d\"} 0\n") != std::string::npos);
    CHECK(empty.find("keygate_keys_expiring{window=\"30d\"} 0\n") != std::string::npos);
}

TEST_CASE("metrics: build info and the process_* conventions", "[metrics]") {
    Metrics m;
    Metrics::Scrape scrape;
    const std::string without = m.render(scrape);
    CHECK_THAT(without, Catch::Contains("# TYPE keygate_build_info gauge\n"));
    const std::string info = "keygate_build_info{version=\"" + std::string(build_version()) +
                             "\",commit=\"" + std::string(build_commit()) + "\"} 1\n";
    CHECK_THAT(without, Catch::Contains(info));
    CHECK(std::regex_match(std::string(build_version()), std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
    CHECK(std::regex_match(std::string(build_commit()), std::regex("[0-9a-f]{12}|unknown")));
    CHECK(without.find("process_") == std::string::npos);

    scrape.process = ProcessStats{12.5, 4096 * 3, 7, 1024, 1735689601.25};
    const std::string with = m.render(scrape);
    CHECK_THAT(with, Catch::Contains("# TYPE process_cpu_seconds_total counter\n"
                                     "process_cpu_seconds_total 12.5\n"));
    CHECK_THAT(with, Catch::Contains("process_resident_memory_bytes 12288\n"));
    CHECK_THAT(with, Catch::Contains("process_open_fds 7\n"));
    CHECK_THAT(with, Catch::Contains("process_max_fds 1024\n"));
    CHECK_THAT(with, Catch::Contains("# TYPE process_start_time_seconds gauge\n"
                                     "process_start_time_seconds 1735689601.25\n"));
}

TEST_CASE("process stats: /proc/self/stat and /proc/stat parsed", "[metrics]") {
    // A command name with spaces and a parenthesis, as proc(5) allows.
    const std::string stat =
        "4242 (key gate) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 9 0 "
        "123400 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0\n";
    const ProcUnits units{100, 4096, 1700000000};
    const auto parsed = parse_proc_stat(stat, units);
    REQUIRE(parsed);
    CHECK(parsed->cpu_seconds == Approx(3.0));                 // (250 + 50) / 100
    CHECK(parsed->resident_bytes == 2048u * 4096u);            // rss pages
    CHECK(parsed->start_time_seconds == Approx(1700001234.0)); // btime + 123400 / 100
    CHECK_FALSE(parse_proc_stat("4242 (short) S 1 2 3", units));
    CHECK_FALSE(parse_proc_stat("no parenthesis at all", units));

    CHECK(parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n") == 1700000000.0);
    CHECK_FALSE(parse_boot_time("cpu  1 2 3\n"));

    const auto live = read_process_stats();
    REQUIRE(live); // the tests run on Linux with /proc
    CHECK(live->open_fds >= 3);
    CHECK(live->resident_bytes > 0);
    const double now = static_cast<double>(std::time(nullptr));
    CHECK(live->start_time_seconds <= now + 1);
    CHECK(live->start_time_seconds > now - 3600 * 24);
}
