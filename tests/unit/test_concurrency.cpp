// The concurrent parts together, without HTTP, so that ThreadSanitizer can watch them
// (scripts/tsan.sh; cpp-httplib is an uninstrumented library): deciders taking snapshots,
// usage and rate-limit state, the audit log and its writer thread, alerts and metrics, while
// the file watcher and an API-like caller reload the key file 100 times.
#include "core/decide.hpp"
#include "infra/alert_detector.hpp"
#include "infra/audit_log.hpp"
#include "infra/audit_writer.hpp"
#include "infra/config_reloader.hpp"
#include "infra/file_watcher.hpp"
#include "infra/metrics.hpp"
#include "infra/usage_tracker.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace keygate;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Generation N: key "gen-N" (tenant tN, dataset dN) and a key that stays, also with tN/dN,
/// so that a decision against a mix of two snapshots would show.
std::string generation(int n) {
    const std::string g = std::to_string(n);
    const auto hash = [](const std::string& key) {
        return format_secret({HashKind::sha256, sha256(key)});
    };
    return "api_keys:\n"
           "  - id: gen-" +
           g + "\n    key_hash: \"" + hash("concurrency-gen-" + g) +
           "\"\n    role: viewer\n    tenant: t" + g + "\n    allowed_datasets: [d" + g +
           "]\n"
           "  - id: stable\n    key_hash: \"" +
           hash("concurrency-stable") + "\"\n    role: viewer\n    tenant: t" + g +
           "\n    allowed_datasets: [d" + g + "]\n    rate_limit: 600000\n";
}

/// Replaces the file the way an editor saves: write a temp file, rename it over.
void save(const fs::path& file, const std::string& text) {
    const fs::path temp = file.string() + ".tmp";
    std::ofstream(temp, std::ios::binary | std::ios::trunc) << text;
    fs::rename(temp, file);
}

std::size_t count_lines(const fs::path& file) {
    std::ifstream in(file);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
        ++n;
    return n;
}

} // namespace

TEST_CASE("concurrency: decisions, usage, audit and metrics during 100 reloads", "[concurrency]") {
    const fs::path dir =
        fs::temp_directory_path() / ("keygate-concurrency-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path file = dir / "keys.yaml";
    const fs::path audit_file = dir / "audit.log";
    save(file, generation(0));

    Metrics metrics;
    UsageTracker usage;
    AlertDetector alerts{AlertSettings{}};
    AuditWriter writer(AuditWriterOptions{audit_file.string(), 1024, AuditOverflow::block});
    std::string error;
    REQUIRE(writer.start(error));
    AuditLog audit(writer, metrics, alerts);

    KeySetHolder holder;
    KeySetSources sources;
    sources.config_path = file.string();
    ConfigReloader::Hooks hooks;
    hooks.config_event = [&](nlohmann::ordered_json e) {
        audit.write_event(AuditEventKind::config, std::move(e));
    };
    hooks.swapped = [&](const KeyStore& store) {
        usage.retain(store);
        alerts.update_settings(store.config().settings.alerts);
    };
    ConfigReloader reloader(sources, holder, now_ms, hooks, ReloadTiming{1ms, 8});
    REQUIRE(reloader.load_initial().ok());
    FileWatcher::Options watch;
    watch.debounce = 5ms;
    watch.period = 0ms;
    FileWatcher watcher(file.string(), watch, [&](WatchTrigger) { reloader.reload("inotify"); });
    REQUIRE(watcher.start());

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> decisions{0};
    std::atomic<int> mixed{0};
    std::atomic<int> denied{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            AuthRequest request;
            request.key = "concurrency-stable";
            request.client_ip = *parse_ip("10.0.0." + std::to_string(t + 1));
            request.method = "GET";
            request.path = "/v1/query";
            while (!stop.load()) {
                const auto snapshot = holder.snapshot();
                const TimePoint now = now_ms();
                Decision decision = decide(*snapshot, request, now);
                if (decision.key == nullptr || !decision.allowed()) {
                    ++denied;
                    continue;
                }
                const KeyEntry& entry = decision.key->entry;
                // tenant tN and dataset dN come from one generation, in one snapshot
                if (entry.tenant->substr(1) != decision.key->allowed_datasets().at(0).substr(1))
                    ++mixed;
                usage.record_decision(*decision.key, now);
                if (!usage.admit(*decision.key, now).allowed)
                    decision.code = DecisionCode::rate_limited;
                const AuthDecisionEvent event{now, decision, request, request.path, "test", "",
                                              200, 10us,     {}};
                audit.record_decision(event);
                metrics.observe_decision(DecisionEndpoint::auth, decision.code, 10us);
                ++decisions;
            }
        });
    }
    // What an admin API call and a metrics scrape do meanwhile.
    threads.emplace_back([&] {
        while (!stop.load()) {
            reloader.reload("api");
            const auto snapshot = holder.snapshot();
            for (const ResolvedKey& key : snapshot->keys())
                (void)usage.usage(key, now_ms());
            Metrics::Scrape scrape;
            scrape.store = snapshot.get();
            scrape.now = now_ms();
            scrape.config = reloader.status().metrics;
            CHECK_FALSE(metrics.render(scrape).empty());
            (void)usage.totals();
            std::this_thread::sleep_for(1ms);
        }
    });

    for (int n = 1; n <= 100; ++n)
        save(file, generation(n));
    // The last generation is in force within 2 s.
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    bool last_in_force = false;
    while (!last_in_force && std::chrono::steady_clock::now() < deadline) {
        last_in_force = holder.snapshot()->find_by_id("gen-100") != nullptr;
        std::this_thread::sleep_for(5ms);
    }
    // Keep deciding a little against the last generation too.
    const std::uint64_t before = decisions.load();
    while (decisions.load() < before + 1000)
        std::this_thread::yield();
    stop = true;
    for (auto& thread : threads)
        thread.join();
    watcher.stop();
    writer.stop();

    CHECK(last_in_force);
    CHECK(mixed.load() == 0);
    CHECK(denied.load() == 0);
    CHECK(decisions.load() > 1000);
    CHECK(reloader.status().last_result != "failure");
    // Every decision became one auth line; the config events add the rest.
    const std::size_t lines = count_lines(audit_file);
    CHECK(writer.stats().write_failures.load() == 0);
    CHECK(lines >= decisions.load());
    CHECK(lines == writer.stats().written.load());
    fs::remove_all(dir);
}
