// Replays on real files every way a key file gets replaced, and checks the watcher sees it.
#include "infra/file_watcher.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace keygate;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("keygate-watch-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

/// Counts callbacks; waits for the count to pass a mark with a deadline.
struct Counter {
    std::atomic<int> calls{0};
    bool wait_beyond(int mark, std::chrono::milliseconds deadline = 2000ms) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (std::chrono::steady_clock::now() < end) {
            if (calls.load() > mark)
                return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }
};

FileWatcher::Options fast() {
    FileWatcher::Options o;
    o.debounce = 20ms;
    o.period = 0ms;
    o.rearm_retry = 20ms;
    return o;
}

/// kubelet's AtomicWriter: new timestamped dir, `..data_tmp` symlink renamed over `..data`,
/// old dir removed. The visible file is a symlink `keys.yaml -> ..data/keys.yaml`.
void kubelet_swap(const fs::path& dir, const std::string& text, int generation) {
    const fs::path ts = dir / ("..2024_01_01_00_00_0" + std::to_string(generation));
    fs::create_directory(ts);
    write_file(ts / "keys.yaml", text);
    fs::create_directory_symlink(ts.filename(), dir / "..data_tmp");
    fs::rename(dir / "..data_tmp", dir / "..data"); // the atomic step
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name.rfind("..2024", 0) == 0 && entry.path() != ts)
            fs::remove_all(entry.path());
    }
}

} // namespace

TEST_CASE("watcher: kubelet ..data symlink swap", "[watcher]") {
    TempDir tmp;
    kubelet_swap(tmp.path, "a", 0);
    fs::create_symlink("..data/keys.yaml", tmp.path / "keys.yaml");
    Counter counter;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), fast(),
                        [&](WatchTrigger) { ++counter.calls; });
    REQUIRE(watcher.start());
    for (int i = 1; i <= 3; ++i) {
        const int mark = counter.calls.load();
        kubelet_swap(tmp.path, "gen " + std::to_string(i), i);
        CHECK(counter.wait_beyond(mark));
    }
}

TEST_CASE("watcher: rename-on-save, cp over, truncate-then-write", "[watcher]") {
    TempDir tmp;
    const fs::path file = tmp.path / "keys.yaml";
    write_file(file, "v1");
    Counter counter;
    FileWatcher watcher(file.string(), fast(), [&](WatchTrigger) { ++counter.calls; });
    REQUIRE(watcher.start());

    int mark = counter.calls.load();
    write_file(tmp.path / ".keys.yaml.swp", "v2");
    fs::rename(tmp.path / ".keys.yaml.swp", file);
    CHECK(counter.wait_beyond(mark));

    mark = counter.calls.load();
    write_file(tmp.path / "other.yaml", "v3");
    fs::copy_file(tmp.path / "other.yaml", file, fs::copy_options::overwrite_existing);
    CHECK(counter.wait_beyond(mark));

    mark = counter.calls.load();
    { std::ofstream truncate(file, std::ios::trunc); }
    write_file(file, "v4");
    CHECK(counter.wait_beyond(mark));
}

TEST_CASE("watcher: directory deleted and recreated is re-armed", "[watcher]") {
    TempDir tmp;
    const fs::path dir = tmp.path / "conf";
    fs::create_directory(dir);
    write_file(dir / "keys.yaml", "v1");
    Counter counter;
    std::atomic<int> rearms{0};
    FileWatcher watcher((dir / "keys.yaml").string(), fast(), [&](WatchTrigger t) {
        if (t == WatchTrigger::rearmed)
            ++rearms;
        ++counter.calls;
    });
    REQUIRE(watcher.start());
    fs::remove_all(dir);
    std::this_thread::sleep_for(50ms); // let the watcher see the directory gone
    fs::create_directory(dir);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (rearms.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(rearms.load() >= 1);
    // the new watch works
    const int mark = counter.calls.load();
    write_file(dir / "keys.yaml", "v2");
    CHECK(counter.wait_beyond(mark));
}

TEST_CASE("watcher: periodic check and poke", "[watcher]") {
    TempDir tmp;
    write_file(tmp.path / "keys.yaml", "v1");
    std::atomic<int> periodic{0};
    std::atomic<int> events{0};
    auto options = fast();
    options.period = 30ms;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), options, [&](WatchTrigger t) {
        if (t == WatchTrigger::periodic)
            ++periodic;
        if (t == WatchTrigger::file_event)
            ++events;
    });
    REQUIRE(watcher.start());
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (periodic.load() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    CHECK(periodic.load() >= 2);
    watcher.poke();
    const auto deadline2 = std::chrono::steady_clock::now() + 2s;
    while (events.load() == 0 && std::chrono::steady_clock::now() < deadline2) {
        std::this_thread::sleep_for(5ms);
    }
    CHECK(events.load() >= 1);
    watcher.stop();
    watcher.stop(); // idempotent
}

TEST_CASE("watcher: events for other names in the directory trigger nothing", "[watcher]") {
    TempDir tmp;
    write_file(tmp.path / "keys.yaml", "a");
    Counter counter;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), fast(),
                        [&](WatchTrigger) { ++counter.calls; });
    REQUIRE(watcher.start());
    std::atomic<bool> stop{false};
    // A log in the same directory, appended every 5 ms, and an editor's swap file.
    std::thread noise([&] {
        std::ofstream log(tmp.path / "audit.log");
        while (!stop.load()) {
            log << "line\n" << std::flush;
            write_file(tmp.path / ".keys.yaml.swp", "x");
            std::this_thread::sleep_for(5ms);
        }
    });
    std::this_thread::sleep_for(400ms);
    CHECK(counter.calls.load() == 0);
    // The key file itself still counts, and the noise does not hold its check back.
    write_file(tmp.path / "keys.yaml", "b");
    CHECK(counter.wait_beyond(0, 1000ms));
    stop = true;
    noise.join();
}

TEST_CASE("watcher: a key file written without pause is checked within 4 debounces", "[watcher]") {
    TempDir tmp;
    write_file(tmp.path / "keys.yaml", "a");
    FileWatcher::Options options = fast();
    options.debounce = 100ms;
    Counter counter;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), options,
                        [&](WatchTrigger) { ++counter.calls; });
    REQUIRE(watcher.start());
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        std::ofstream out(tmp.path / "keys.yaml", std::ios::app);
        while (!stop.load()) {
            out << "# line\n" << std::flush;
            std::this_thread::sleep_for(5ms);
        }
    });
    // Without the bound the check would wait for a quiet 100 ms that never comes.
    CHECK(counter.wait_beyond(0, 1500ms));
    stop = true;
    writer.join();
}

TEST_CASE("watcher: retry_in() asks for one check with trigger retry", "[watcher]") {
    TempDir tmp;
    write_file(tmp.path / "keys.yaml", "a");
    std::mutex mutex;
    std::vector<WatchTrigger> seen;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), fast(), [&](WatchTrigger t) {
        std::lock_guard lock(mutex);
        seen.push_back(t);
    });
    REQUIRE(watcher.start());
    const auto asked = std::chrono::steady_clock::now();
    watcher.retry_in(150ms);
    std::this_thread::sleep_for(100ms);
    {
        std::lock_guard lock(mutex);
        CHECK(seen.empty()); // not before its time
    }
    std::this_thread::sleep_for(400ms);
    std::lock_guard lock(mutex);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == WatchTrigger::retry);
    CHECK(std::chrono::steady_clock::now() - asked >= 150ms);
    CHECK(std::string(to_string(WatchTrigger::retry)) == "retry");
}

TEST_CASE("watcher: a rename into place is checked at once as replaced; a write in place waits",
          "[watcher]") {
    TempDir tmp;
    kubelet_swap(tmp.path, "a", 0);
    fs::create_symlink("..data/keys.yaml", tmp.path / "keys.yaml");
    auto options = fast();
    options.debounce = 500ms; // long: a check well before it can only be the rename's
    std::mutex mutex;
    std::vector<std::pair<WatchTrigger, std::chrono::steady_clock::time_point>> seen;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), options, [&](WatchTrigger t) {
        std::lock_guard lock(mutex);
        seen.emplace_back(t, std::chrono::steady_clock::now());
    });
    REQUIRE(watcher.start());
    auto started = std::chrono::steady_clock::now();
    kubelet_swap(tmp.path, "b", 1);
    std::this_thread::sleep_for(300ms);
    {
        std::lock_guard lock(mutex);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].first == WatchTrigger::replaced);
        CHECK(seen[0].second - started < 250ms);
        seen.clear();
    }
}

TEST_CASE("watcher: a write in place waits for the debounce and is not replaced", "[watcher]") {
    TempDir tmp;
    write_file(tmp.path / "keys.yaml", "a");
    auto options = fast();
    options.debounce = 300ms;
    std::mutex mutex;
    std::vector<std::pair<WatchTrigger, std::chrono::steady_clock::time_point>> seen;
    FileWatcher watcher((tmp.path / "keys.yaml").string(), options, [&](WatchTrigger t) {
        std::lock_guard lock(mutex);
        seen.emplace_back(t, std::chrono::steady_clock::now());
    });
    REQUIRE(watcher.start());
    const auto started = std::chrono::steady_clock::now();
    write_file(tmp.path / "keys.yaml", "b");
    std::this_thread::sleep_for(800ms);
    std::lock_guard lock(mutex);
    REQUIRE_FALSE(seen.empty());
    CHECK(seen[0].first == WatchTrigger::file_event);
    CHECK(seen[0].second - started >= 300ms);
}
