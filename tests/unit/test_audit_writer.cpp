#include "infra/audit_writer.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const char* name) {
    return fs::temp_directory_path() /
           (std::string("keygate-audit-") + std::to_string(::getpid()) + "-" + name);
}

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

} // namespace

TEST_CASE("audit sink: 8 threads lose no line and interleave none", "[audit]") {
    const auto path = temp_file("threads.log");
    fs::remove(path);
    {
        AuditWriter sink({path.string(), 64, AuditOverflow::block});
        std::string error;
        REQUIRE(sink.start(error));
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&sink, t] {
                for (int i = 0; i < 2000; ++i) {
                    nlohmann::json line{{"thread", t}, {"i", i}, {"pad", std::string(200, 'x')}};
                    sink.write(line.dump());
                }
            });
        }
        for (auto& th : threads)
            th.join();
        sink.stop();
        CHECK(sink.stats().written.load() == 16000);
        CHECK(sink.stats().write_failures.load() == 0);
    }
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 16000);
    std::set<std::pair<int, int>> seen;
    for (const auto& line : lines) {
        const auto j = nlohmann::json::parse(line); // throws (fails) on an interleaved line
        seen.emplace(j["thread"].get<int>(), j["i"].get<int>());
    }
    CHECK(seen.size() == 16000);
    fs::remove(path);
}

TEST_CASE("audit sink: a full disk is counted, writes go on", "[audit]") {
    std::vector<std::string> reports;
    AuditWriter sink({"/dev/full", 1024, AuditOverflow::block},
                     [&](AuditReportLevel, const std::string& m) { reports.push_back(m); });
    std::string error;
    REQUIRE(sink.start(error));
    for (int i = 0; i < 10; ++i)
        sink.write("{\"n\":" + std::to_string(i) + "}");
    sink.flush();
    sink.stop();
    CHECK(sink.stats().write_failures.load() == 10);
    CHECK(sink.stats().written.load() == 0);
    REQUIRE(reports.size() == 1); // logged once per episode, not per line
    CHECK(reports[0].find("audit log write failed") != std::string::npos);
}

TEST_CASE("audit sink: drop policy counts what it drops", "[audit]") {
    const auto path = temp_file("drop.log");
    AuditWriter sink({path.string(), 1, AuditOverflow::drop});
    std::string error;
    REQUIRE(sink.start(error));
    for (int i = 0; i < 1000; ++i)
        sink.write("{}");
    sink.stop();
    CHECK(sink.stats().written.load() + sink.stats().write_failures.load() == 1000);
    CHECK(read_lines(path).size() == sink.stats().written.load());
    fs::remove(path);
}

TEST_CASE("audit sink: reopen follows logrotate's rename", "[audit]") {
    const auto path = temp_file("rotate.log");
    const auto rotated = temp_file("rotate.log.1");
    fs::remove(path);
    fs::remove(rotated);
    AuditWriter sink({path.string(), 1024, AuditOverflow::block});
    std::string error;
    REQUIRE(sink.start(error));
    sink.write("{\"before\":1}");
    sink.flush();
    fs::rename(path, rotated);
    sink.reopen();
    sink.write("{\"after\":1}");
    sink.stop();
    CHECK(read_lines(rotated) == std::vector<std::string>{"{\"before\":1}"});
    CHECK(read_lines(path) == std::vector<std::string>{"{\"after\":1}"});
    fs::remove(path);
    fs::remove(rotated);
}

TEST_CASE("audit sink: an unopenable file is an error at start", "[audit]") {
    AuditWriter sink({"/nonexistent-dir/x/audit.log", 16, AuditOverflow::block});
    std::string error;
    CHECK_FALSE(sink.start(error));
    CHECK(error.find("cannot open audit log '/nonexistent-dir/x/audit.log'") == 0);
}

TEST_CASE("audit sink: the batch window delays no flush and no stop", "[audit]") {
    const auto path = temp_file("window.log");
    fs::remove(path);
    using Clock = std::chrono::steady_clock;
    AuditWriterOptions options{path.string(), 64, AuditOverflow::block};
    options.batch_window = std::chrono::seconds(30);
    AuditWriter sink(options);
    std::string error;
    REQUIRE(sink.start(error));
    const auto started = Clock::now();
    // The first line wakes the writer, which then waits out its window; the second and
    // third arrive during it: flush() ends the window instead of waiting 30 s.
    sink.write(R"({"n":1})");
    sink.flush();
    sink.write(R"({"n":2})");
    sink.write(R"({"n":3})");
    sink.flush();
    CHECK(read_lines(path).size() == 3);
    sink.write(R"({"n":4})");
    sink.stop();
    CHECK(Clock::now() - started < std::chrono::seconds(5));
    CHECK(read_lines(path).size() == 4);
    CHECK(sink.stats().written.load() == 4);
    // A full queue ends the window too: a blocked writer is not held for 30 s.
    const auto full_path = temp_file("window-full.log");
    fs::remove(full_path);
    AuditWriterOptions small{full_path.string(), 2, AuditOverflow::block};
    small.batch_window = std::chrono::seconds(30);
    AuditWriter full(small);
    REQUIRE(full.start(error));
    const auto full_started = Clock::now();
    for (int i = 0; i < 10; ++i)
        full.write(R"({"i":)" + std::to_string(i) + "}");
    full.stop();
    CHECK(Clock::now() - full_started < std::chrono::seconds(5));
    CHECK(read_lines(full_path).size() == 10);
    fs::remove(path);
    fs::remove(full_path);
}

namespace {

/// The reports of a writer, kept thread-safe (the watchdog reports from its own thread).
struct Reports {
    std::mutex mutex;
    std::vector<std::pair<AuditReportLevel, std::string>> list;
    AuditWriter::FailureReporter reporter() {
        return [this](AuditReportLevel level, const std::string& message) {
            const std::lock_guard lock(mutex);
            list.emplace_back(level, message);
        };
    }
    std::size_t count(AuditReportLevel level, const std::string& part) {
        const std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& [l, m] : list)
            n += l == level && m.find(part) != std::string::npos;
        return n;
    }
};

/// Polls `condition` every 10 ms for up to `timeout`.
template <typename Condition> bool within(std::chrono::milliseconds timeout, Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace

TEST_CASE("audit sink: a pipe nobody reads is reported blocked within 1 s, then recovered",
          "[audit]") {
    using Clock = std::chrono::steady_clock;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096); // fills after a few lines
    Reports reports;
    AuditWriter sink({"/dev/fd/" + std::to_string(fds[1]), 1024, AuditOverflow::block},
                     reports.reporter());
    std::string error;
    REQUIRE(sink.start(error));
    ::close(fds[1]); // the writer opened its own descriptor of the pipe
    const auto started = Clock::now();
    for (int i = 0; i < 100; ++i)
        sink.write(nlohmann::json{{"n", i}, {"pad", std::string(500, 'x')}}.dump());

    REQUIRE(within(std::chrono::milliseconds(1500),
                   [&] { return reports.count(AuditReportLevel::warning, "is blocked") == 1; }));
    CHECK(Clock::now() - started < std::chrono::seconds(1));
    const AuditWriterHealth blocked = sink.health();
    CHECK(blocked.blocked);
    CHECK(blocked.queue_depth > 0);
    CHECK(blocked.blocked_seconds >= 0.5);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // The episode in progress counts, and is reported once.
    CHECK(sink.health().blocked_seconds >= blocked.blocked_seconds + 0.25);
    CHECK(reports.count(AuditReportLevel::warning, "is blocked") == 1);

    // The reader comes back: everything arrives whole, the episode ends and is reported.
    std::string received;
    std::thread reader([&] {
        char buffer[4096];
        for (;;) {
            const auto n = ::read(fds[0], buffer, sizeof buffer);
            if (n <= 0)
                break;
            received.append(buffer, static_cast<std::size_t>(n));
        }
    });
    sink.flush();
    const AuditWriterHealth after = sink.health();
    CHECK_FALSE(after.blocked);
    CHECK(after.queue_depth == 0);
    CHECK(after.blocked_seconds >= 0.8);
    CHECK(reports.count(AuditReportLevel::info, "takes writes again after being blocked for") == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(sink.health().blocked_seconds == after.blocked_seconds); // no longer growing
    sink.stop();
    reader.join();
    ::close(fds[0]);
    CHECK(sink.stats().written.load() == 100);
    CHECK(sink.stats().write_failures.load() == 0);
    std::size_t lines = 0;
    for (std::size_t at = 0, end; (end = received.find('\n', at)) != std::string::npos;
         at = end + 1) {
        CHECK(nlohmann::json::parse(received.substr(at, end - at))["n"] == lines);
        ++lines;
    }
    CHECK(lines == 100);
}

namespace {

/// A write(2) to a real file that takes at most `budget` more bytes, then fails with ENOSPC
/// (a disk filling up partway through a line); a negative budget means no limit.
struct FillingDisk {
    std::atomic<long> budget{-1};
    AuditWriteCall call() {
        return [this](int fd, const char* data, std::size_t size) -> long {
            const long left = budget.load();
            if (left == 0) {
                errno = ENOSPC;
                return -1;
            }
            const std::size_t take =
                left < 0 ? size : std::min(size, static_cast<std::size_t>(left));
            const auto n = ::write(fd, data, take);
            if (n > 0 && left > 0)
                budget -= n;
            return static_cast<long>(n);
        };
    }
};

} // namespace

TEST_CASE("audit sink: a write cut mid-line finishes that line before any other", "[audit]") {
    const auto path = temp_file("cut.log");
    fs::remove(path);
    FillingDisk disk;
    AuditWriterOptions options{path.string(), 1024, AuditOverflow::block};
    options.write_call = disk.call();
    Reports reports;
    AuditWriter sink(options, reports.reporter());
    std::string error;
    REQUIRE(sink.start(error));
    sink.write(R"({"n":1})");
    sink.flush();
    disk.budget = 10; // the disk fills 10 bytes into line 2
    sink.write(R"({"n":2,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})");
    sink.flush();
    sink.write(R"({"n":3})"); // full: lost, and must not be glued to line 2's start
    sink.flush();
    CHECK(reports.count(AuditReportLevel::error, "No space left on device") == 1);
    disk.budget = -1; // space again
    sink.write(R"({"n":4})");
    sink.stop();
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 3);
    CHECK(nlohmann::json::parse(lines[0])["n"] == 1);
    CHECK(nlohmann::json::parse(lines[1])["n"] == 2); // finished, whole
    CHECK(nlohmann::json::parse(lines[2])["n"] == 4);
    CHECK(sink.stats().written.load() == 3);
    CHECK(sink.stats().write_failures.load() == 1); // line 3
    CHECK(reports.count(AuditReportLevel::info, "succeed again") == 1);
    fs::remove(path);
}

TEST_CASE("audit sink: a line cut before a rotation is given up, the new file starts clean",
          "[audit]") {
    const auto path = temp_file("cut-rotate.log");
    const auto rotated = temp_file("cut-rotate.log.1");
    fs::remove(path);
    fs::remove(rotated);
    FillingDisk disk;
    AuditWriterOptions options{path.string(), 1024, AuditOverflow::block};
    options.write_call = disk.call();
    AuditWriter sink(options);
    std::string error;
    REQUIRE(sink.start(error));
    disk.budget = 5;
    sink.write(R"({"n":1,"pad":"xxxxxxxxxxxxxxxxxxxx"})");
    sink.flush();
    fs::rename(path, rotated);
    sink.reopen(); // the old file is still full: its fragment cannot be finished
    sink.write(R"({"n":2})");
    sink.flush();
    disk.budget = -1;
    sink.write(R"({"n":3})");
    sink.stop();
    CHECK(read_lines(path) == std::vector<std::string>{R"({"n":3})"});
    CHECK(sink.stats().write_failures.load() == 2); // the cut line and line 2 (disk full)
    fs::remove(path);
    fs::remove(rotated);
}

TEST_CASE("audit sink: a destination still blocked at the shutdown deadline is given up",
          "[audit]") {
    using Clock = std::chrono::steady_clock;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
    Reports reports;
    // A queue of 8 lines: producers soon wait for room, as decisions do under load.
    AuditWriter sink({"/dev/fd/" + std::to_string(fds[1]), 8, AuditOverflow::block},
                     reports.reporter());
    std::string error;
    REQUIRE(sink.start(error));
    ::close(fds[1]);
    const std::string pad(500, 'x');
    std::atomic<int> returned{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p) {
        producers.emplace_back([&, p] {
            // Far more than the pipe, the batch in flight and the queue hold (~24 lines), so
            // that no producer can finish before the destination is given up.
            for (int i = 0; i < 200; ++i)
                sink.write(nlohmann::json{{"p", p}, {"n", i}, {"pad", pad}}.dump());
            ++returned;
        });
    }
    REQUIRE(within(std::chrono::milliseconds(1500), [&] { return sink.health().blocked; }));
    CHECK(returned == 0); // every producer waits for room

    const auto deadline = Clock::now() + std::chrono::milliseconds(300);
    sink.abandon_after(Clock::now() + std::chrono::seconds(60));
    sink.abandon_after(deadline); // the earlier deadline wins
    for (auto& t : producers)
        t.join(); // released at the deadline, not by a reader
    const auto released = Clock::now();
    CHECK(released >= deadline);
    CHECK(released - deadline < std::chrono::milliseconds(500));
    CHECK(sink.abandoned());
    sink.stop(); // the writer's blocked write(2) is interrupted: stop() returns
    CHECK(Clock::now() - deadline < std::chrono::seconds(1));
    CHECK(reports.count(AuditReportLevel::error, "still blocks at shutdown") == 1);
    CHECK(reports.count(AuditReportLevel::error, "write failed") == 0);
    // Every line is accounted for: written to the pipe, or counted as a failure.
    std::string received;
    char buffer[8192];
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        const auto n = ::read(fds[0], buffer, sizeof buffer);
        if (n <= 0)
            break;
        received.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    const auto whole =
        static_cast<std::uint64_t>(std::count(received.begin(), received.end(), '\n'));
    CHECK(sink.stats().written >= whole);
    CHECK(sink.stats().written + sink.stats().write_failures == 800);
    // After giving up, a line is refused and counted, never waited for.
    const auto before = sink.stats().write_failures.load();
    sink.write("{}");
    CHECK(sink.stats().write_failures == before + 1);
}

TEST_CASE("audit sink: abandon_after does nothing to a destination that keeps up", "[audit]") {
    const auto path = temp_file("keeps-up.log");
    fs::remove(path);
    AuditWriter sink({path.string(), 1024, AuditOverflow::block});
    std::string error;
    REQUIRE(sink.start(error));
    sink.abandon_after(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(sink.abandoned());
    for (int i = 0; i < 10; ++i)
        sink.write("{\"n\":" + std::to_string(i) + "}");
    sink.stop();
    CHECK(sink.stats().written == 10);
    CHECK(sink.stats().write_failures == 0);
    CHECK(read_lines(path).size() == 10);
    fs::remove(path);
}
