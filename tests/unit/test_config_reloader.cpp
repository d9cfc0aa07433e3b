// The reloader against real files: changes, unchanged digests, broken files, grace windows.
#include "core/decide.hpp"
#include "descriptor_limit.hpp"
#include "infra/config_reloader.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace keygate;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    fs::path dir;
    fs::path file;
    KeySetHolder holder;
    TimePoint now = *parse_timestamp("2025-03-01T12:00:00Z");
    std::vector<nlohmann::ordered_json> events;
    struct LogLine {
        spdlog::level::level_enum level;
        std::string message;
        std::vector<LogField> fields;

        /// The field's value, or monostate-like empty optional.
        std::optional<LogField::Value> field(std::string_view key) const {
            for (const LogField& f : fields)
                if (f.key == key)
                    return f.value;
            return std::nullopt;
        }
    };
    std::vector<LogLine> logs;
    std::unique_ptr<ConfigReloader> reloader;

    Fixture() {
        static int counter = 0;
        dir = fs::temp_directory_path() /
              ("keygate-reload-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        fs::create_directories(dir);
        file = dir / "keys.yaml";
        KeySetSources sources;
        sources.config_path = file.string();
        ConfigReloader::Hooks hooks;
        hooks.config_event = [this](nlohmann::ordered_json e) { events.push_back(std::move(e)); };
        hooks.log = [this](spdlog::level::level_enum level, const std::string& message,
                           const std::vector<LogField>& fields) {
            logs.push_back({level, message, fields});
        };
        reloader = std::make_unique<ConfigReloader>(
            sources, holder, [this] { return now; }, hooks, ReloadTiming{1ms, 8});
    }
    ~Fixture() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write(const std::string& text) {
        std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    }
    DecisionCode decide_key(const std::string& key) {
        AuthRequest r;
        r.key = key;
        r.client_ip = *parse_ip("127.0.0.1");
        return decide(*holder.snapshot(), r, now).code;
    }
};

std::string key_file(const std::vector<std::pair<std::string, std::string>>& keys,
                     const std::string& settings = "") {
    std::string text = settings + "api_keys:\n";
    for (const auto& [id, secret] : keys) {
        text += "  - id: " + id + "\n    key_hash: \"" +
                format_secret({HashKind::sha256, sha256(secret)}) + "\"\n    role: admin\n";
    }
    return text;
}

} // namespace

TEST_CASE("reloader: loads, swaps on change, skips an unchanged digest", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    CHECK(f.holder.generation() == 1);
    CHECK(f.decide_key("reload-test-key-a") == DecisionCode::ok);

    CHECK(f.reloader->reload("test") == ReloadOutcome::unchanged);
    CHECK(f.holder.generation() == 1);

    f.write(key_file({{"b", "reload-test-key-b"}}));
    CHECK(f.reloader->reload("test") == ReloadOutcome::success);
    CHECK(f.holder.generation() == 2);
    CHECK(f.decide_key("reload-test-key-b") == DecisionCode::ok);
    CHECK(f.decide_key("reload-test-key-a") == DecisionCode::invalid_key); // grace 0s
    const auto status = f.reloader->status();
    CHECK(status.last_result == "success");
    CHECK(status.metrics.reloads_success == 1);
    CHECK(status.metrics.generation == 2);
    CHECK(status.sha256.size() == 64);
}

TEST_CASE("reloader: log lines carry their fields; debug times every attempt", "[reload]") {
    Fixture f;
    const std::string path = f.file.string();
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    REQUIRE(f.logs.size() == 1);
    CHECK(f.logs[0].level == spdlog::level::info);
    CHECK(f.logs[0].message.starts_with("loaded " + path + ": 1 keys, generation 1 (start) in "));
    CHECK(f.logs[0].field("path") == LogField::Value(path));
    CHECK(f.logs[0].field("generation") == LogField::Value(std::int64_t{1}));
    CHECK(f.logs[0].field("keys") == LogField::Value(std::int64_t{1}));
    CHECK(f.logs[0].field("duration_ms").has_value());

    f.logs.clear();
    CHECK(f.reloader->reload("api") == ReloadOutcome::unchanged);
    REQUIRE(f.logs.size() == 1);
    CHECK(f.logs[0].level == spdlog::level::debug);
    CHECK(f.logs[0].message.starts_with("reload of " + path + " (api): unchanged in "));
    CHECK(f.logs[0].field("result") == LogField::Value(std::string("unchanged")));
    CHECK(f.logs[0].field("trigger") == LogField::Value(std::string("api")));
    REQUIRE(f.logs[0].field("duration_ms"));
    CHECK(std::get<double>(*f.logs[0].field("duration_ms")) >= 0.0);
    CHECK(f.logs[0].field("read_ms").has_value());

    f.logs.clear();
    f.write("api_keys:\n  - id: a\n    role: nosuchrole\n");
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    REQUIRE(f.logs.size() == 2);
    CHECK(f.logs[0].level == spdlog::level::err);
    CHECK(f.logs[0].field("result") == LogField::Value(std::string("failure")));
    REQUIRE(f.logs[0].field("error"));
    CHECK_THAT(std::get<std::string>(*f.logs[0].field("error")),
               Catch::StartsWith(path + ":") && Catch::Contains("nosuchrole"));
    CHECK(f.logs[1].level == spdlog::level::debug);
    CHECK(f.logs[1].field("result") == LogField::Value(std::string("failure")));

    f.logs.clear();
    f.write(key_file({{"b", "reload-test-key-b"}}));
    CHECK(f.reloader->reload("sighup") == ReloadOutcome::success);
    REQUIRE(f.logs.size() == 2);
    CHECK(f.logs[0].level == spdlog::level::info);
    CHECK(f.logs[0].field("generation") == LogField::Value(std::int64_t{2}));
    CHECK(f.logs[1].level == spdlog::level::debug);
    CHECK(f.logs[1].field("result") == LogField::Value(std::string("success")));
}

TEST_CASE("reloader: broken files keep the last good keys", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    const std::string good = key_file({{"a", "reload-test-key-a"}, {"b", "reload-test-key-b"}});
    for (const std::string& broken :
         {std::string("api_keys: [\n  - {id: x"),                      // invalid YAML
          std::string("api_keys:\n  - id: a\n    role: nosuchrole\n"), // schema error
          std::string(""),                                             // empty (truncated)
          std::string("   \n\n"),                                      // whitespace only
          good.substr(0, good.size() / 2)}) {                          // half-written
        INFO(broken);
        f.write(broken);
        CHECK(f.reloader->reload("test") == ReloadOutcome::failure);
        CHECK(f.decide_key("reload-test-key-a") == DecisionCode::ok);
        CHECK(f.holder.generation() == 1);
        const auto status = f.reloader->status();
        CHECK(status.last_result == "failure");
        CHECK_FALSE(status.metrics.last_reload_successful);
        CHECK_FALSE(status.last_errors.empty());
    }
    f.write(good);
    CHECK(f.reloader->reload("test") == ReloadOutcome::success);
    CHECK(f.reloader->status().metrics.last_reload_successful);
    CHECK(f.decide_key("reload-test-key-b") == DecisionCode::ok);
    CHECK(f.reloader->status().metrics.reloads_failure == 5);
}

TEST_CASE("reloader: a missing file fails without touching the keys", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    fs::remove(f.file);
    CHECK(f.reloader->reload("test") == ReloadOutcome::failure);
    CHECK(f.decide_key("reload-test-key-a") == DecisionCode::ok);
}

TEST_CASE("reloader: grace period with a fake clock, start and end events", "[reload]") {
    Fixture f;
    const std::string settings = "settings:\n  grace_period: 10m\n";
    f.write(key_file({{"a", "reload-test-old-a"}}, settings));
    REQUIRE(f.reloader->load_initial().ok());
    f.write(key_file({{"a", "reload-test-new-a"}}, settings));
    REQUIRE(f.reloader->reload("test") == ReloadOutcome::success);
    CHECK(f.decide_key("reload-test-old-a") == DecisionCode::ok);
    CHECK(f.decide_key("reload-test-new-a") == DecisionCode::ok);
    const auto starts = std::count_if(f.events.begin(), f.events.end(), [](const auto& e) {
        return e["type"] == "grace_start" && e["key_id"] == "a" &&
               e["grace_until"] == "2025-03-01T12:10:00Z";
    });
    CHECK(starts == 1);
    f.now += 10min;
    CHECK(f.decide_key("reload-test-old-a") == DecisionCode::invalid_key);
    f.reloader->report_ended_grace();
    f.reloader->report_ended_grace(); // once only
    const auto ends = std::count_if(f.events.begin(), f.events.end(),
                                    [](const auto& e) { return e["type"] == "grace_end"; });
    CHECK(ends == 1);
}

TEST_CASE("reloader: disabling the id in the new file revokes at once", "[reload]") {
    Fixture f;
    const std::string settings = "settings:\n  grace_period: 1h\n";
    f.write(key_file({{"a", "reload-test-old-a"}}, settings));
    REQUIRE(f.reloader->load_initial().ok());
    f.write(settings + "api_keys:\n  - id: a\n    key_hash: \"" +
            format_secret({HashKind::sha256, sha256("reload-test-new-a")}) +
            "\"\n    role: admin\n    enabled: false\n");
    REQUIRE(f.reloader->reload("test") == ReloadOutcome::success);
    CHECK(f.decide_key("reload-test-old-a") == DecisionCode::invalid_key);
    CHECK(f.decide_key("reload-test-new-a") == DecisionCode::key_disabled);
}

TEST_CASE("reloader: restored grace windows honoured after a restart", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-new-a"}}));
    KeyEntry old;
    old.id = "a";
    old.role = "admin";
    old.secret = {HashKind::sha256, sha256("reload-test-old-a")};
    KeyEntry ended = old;
    ended.secret = {HashKind::sha256, sha256("reload-test-ended-a")};
    REQUIRE(
        f.reloader
            ->load_initial({{old.secret, old, f.now + 5min}, {ended.secret, ended, f.now - 1min}})
            .ok());
    CHECK(f.decide_key("reload-test-old-a") == DecisionCode::ok);
    CHECK(f.decide_key("reload-test-ended-a") == DecisionCode::invalid_key);
}

namespace {

/// The `config` failure events seen so far.
std::size_t failure_events(const std::vector<nlohmann::ordered_json>& events) {
    std::size_t n = 0;
    for (const auto& e : events) {
        if (e.value("result", "") == "failure")
            ++n;
    }
    return n;
}

} // namespace

TEST_CASE("reloader: one broken edit is one failure, however often it is looked at", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    const std::string broken = "api_keys:\n  - id: a\n    role: nosuchrole\n";
    f.write(broken);
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    // Looked at again (events beside the file, the periodic check), and written again with the
    // same bytes through a new inode: not parsed, counted or reported again.
    for (int i = 0; i < 5; ++i)
        CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    fs::remove(f.file);
    f.write(broken);
    CHECK(f.reloader->reload("periodic") == ReloadOutcome::failure);
    auto status = f.reloader->status();
    CHECK(status.metrics.reloads_failure == 1);
    CHECK(status.last_result == "failure"); // the file on disk is still the broken one
    CHECK_FALSE(status.metrics.last_reload_successful);
    CHECK(failure_events(f.events) == 1);

    // A different broken content is a new failure.
    f.write(broken + "# another edit\n");
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    CHECK(f.reloader->status().metrics.reloads_failure == 2);

    // Put back as it was: nothing to load, and nothing is failing any more.
    f.write(key_file({{"a", "reload-test-key-a"}}));
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::unchanged);
    status = f.reloader->status();
    CHECK(status.metrics.last_reload_successful);
    CHECK(status.last_result == "unchanged");
    CHECK(status.last_errors.empty());
    // ... and the broken content is a failure again if it comes back.
    f.write(broken);
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    CHECK(f.reloader->status().metrics.reloads_failure == 3);
    CHECK(failure_events(f.events) == 3);
}

TEST_CASE("reloader: the same read error is reported once", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    fs::remove(f.file);
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    CHECK(f.reloader->reload("periodic") == ReloadOutcome::failure);
    CHECK(f.reloader->status().metrics.reloads_failure == 1);
    // A FIFO in its place: a new error, refused at once (never a wait for a writer).
    REQUIRE(::mkfifo(f.file.c_str(), 0600) == 0);
    const auto started = std::chrono::steady_clock::now();
    CHECK(f.reloader->reload("inotify") == ReloadOutcome::failure);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK(f.reloader->status().last_errors.at(0).find("FIFO") != std::string::npos);
    CHECK(f.reloader->status().metrics.reloads_failure == 2);
    CHECK(f.decide_key("reload-test-key-a") == DecisionCode::ok);
}

TEST_CASE("reloader: a transient read error (EMFILE) is retried with backoff, counted once",
          "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    REQUIRE(f.reloader->load_initial().ok());
    f.write(key_file({{"b", "reload-test-key-b"}}));
    test::NoFreeDescriptors exhausted;
    std::vector<ReloadOutcome> outcomes;
    std::vector<std::optional<std::chrono::milliseconds>> retries;
    for (int i = 0; i < 4; ++i) {
        outcomes.push_back(f.reloader->reload(i == 0 ? "inotify" : "retry"));
        retries.push_back(f.reloader->take_retry());
    }
    exhausted.restore();
    for (const ReloadOutcome o : outcomes)
        CHECK(o == ReloadOutcome::failure);
    CHECK(retries ==
          std::vector<std::optional<std::chrono::milliseconds>>{100ms, 200ms, 400ms, 800ms});
    CHECK_FALSE(f.reloader->take_retry()); // taken
    auto status = f.reloader->status();
    CHECK(status.metrics.reloads_failure == 1); // the first of the run only
    CHECK(failure_events(f.events) == 1);
    REQUIRE_FALSE(status.last_errors.empty());
    CHECK(status.last_errors[0].find("too many open files") != std::string::npos);

    // Descriptors are back: the retry applies the change, and no retry is asked for.
    CHECK(f.reloader->reload("retry") == ReloadOutcome::success);
    CHECK_FALSE(f.reloader->take_retry());
    CHECK(f.decide_key("reload-test-key-b") == DecisionCode::ok);
}

TEST_CASE("reloader: the backoff stops growing at retry_max", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    KeySetSources sources;
    sources.config_path = f.file.string();
    ConfigReloader reloader(
        sources, f.holder, [&f] { return f.now; }, {}, ReloadTiming{1ms, 8, 100ms, 300ms});
    REQUIRE(reloader.load_initial().ok());
    f.write(key_file({{"b", "reload-test-key-b"}}));
    test::NoFreeDescriptors exhausted;
    std::vector<std::optional<std::chrono::milliseconds>> retries;
    for (int i = 0; i < 4; ++i) {
        reloader.reload("retry");
        retries.push_back(reloader.take_retry());
    }
    exhausted.restore();
    CHECK(retries ==
          std::vector<std::optional<std::chrono::milliseconds>>{100ms, 200ms, 300ms, 300ms});
}

TEST_CASE("reloader: status() does not wait for an attempt in progress", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    KeySetSources sources;
    sources.config_path = f.file.string();
    // A settle time of 1.5 s holds the attempt (between its two reads) that long.
    ConfigReloader reloader(
        sources, f.holder, [&f] { return f.now; }, {}, ReloadTiming{1500ms, 8});
    REQUIRE(reloader.load_initial().ok());
    f.write(key_file({{"b", "reload-test-key-b"}}));
    std::atomic<bool> done{false};
    std::thread attempt([&] {
        reloader.reload("test");
        done = true;
    });
    std::this_thread::sleep_for(100ms); // the attempt is in its settle wait now
    const auto status = reloader.status();
    CHECK_FALSE(done.load()); // status() answered while the attempt still ran
    CHECK(status.last_trigger == "test");
    attempt.join();
    CHECK(reloader.status().last_result == "success");
}

TEST_CASE("reloader: cancel() stops an attempt before it publishes", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    KeySetSources sources;
    sources.config_path = f.file.string();
    ConfigReloader reloader(
        sources, f.holder, [&f] { return f.now; }, {}, ReloadTiming{300ms, 8});
    REQUIRE(reloader.load_initial().ok());
    f.write(key_file({{"b", "reload-test-key-b"}}));
    ReloadOutcome outcome = ReloadOutcome::success;
    std::thread attempt([&] { outcome = reloader.reload("test"); });
    std::this_thread::sleep_for(50ms);
    reloader.cancel();
    attempt.join();
    CHECK(outcome == ReloadOutcome::unchanged);
    CHECK(f.holder.generation() == 1);
    CHECK(reloader.status().metrics.reloads_failure == 0);
    CHECK(reloader.reload("test") == ReloadOutcome::unchanged); // and every later one
}

TEST_CASE("reloader: a file renamed into place is read once, without the settle wait", "[reload]") {
    Fixture f;
    f.write(key_file({{"a", "reload-test-key-a"}}));
    KeySetSources sources;
    sources.config_path = f.file.string();
    ConfigReloader reloader(
        sources, f.holder, [&f] { return f.now; }, {}, ReloadTiming{400ms, 8});
    REQUIRE(reloader.load_initial().ok());
    f.write(key_file({{"b", "reload-test-key-b"}}));
    const auto started = std::chrono::steady_clock::now();
    CHECK(reloader.reload("inotify", true) == ReloadOutcome::success);
    CHECK(std::chrono::steady_clock::now() - started < 400ms);
    CHECK(f.decide_key("reload-test-key-b") == DecisionCode::ok);
}
