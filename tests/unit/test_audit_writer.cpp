#include "infra/audit_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <unistd.h>

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
    for (std::string line; std::getline(in, line);) lines.push_back(line);
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
        for (auto& th : threads) th.join();
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
                   [&](const std::string& m) { reports.push_back(m); });
    std::string error;
    REQUIRE(sink.start(error));
    for (int i = 0; i < 10; ++i) sink.write("{\"n\":" + std::to_string(i) + "}");
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
    for (int i = 0; i < 1000; ++i) sink.write("{}");
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
