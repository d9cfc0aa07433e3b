// A blocked audit log (issue 13): the whole runtime writing its audit log into a pipe whose
// reader stops reading. /readyz answers 503 while the writer is blocked and 200 again once
// it writes; /metrics shows the queue and the time spent blocked; no line is lost.
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <atomic>
#include <fcntl.h>
#include <httplib.h>
#include <regex>
#include <thread>
#include <unistd.h>

using namespace keygate;
using namespace keygate::testing;

namespace {

/// The value of a sample line `name value` in a Prometheus text, or -1.
double sample_value(const std::string& text, const std::string& name) {
    const std::regex line("(^|\n)" + name + " ([0-9.e+-]+)\n");
    std::smatch match;
    return std::regex_search(text, match, line) ? std::stod(match[2].str()) : -1.0;
}

} // namespace

TEST_CASE("audit blocked: /readyz is 503 while the audit pipe is full, metrics show it",
          "[audit][it]") {
    TempDir dir;
    const std::string config = dir.write("keys.yaml", test_key_file());
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
    std::atomic<bool> done{false};
    std::atomic<std::size_t> lines{0};
    std::thread reader;
    {
        Running server(config, "/dev/fd/" + std::to_string(fds[1]));
        ::close(fds[1]); // the runtime opened its own descriptor
        httplib::Client client("127.0.0.1", server.runtime->port());
        REQUIRE(client.Get("/readyz")->status == 200);

        // Decisions go on (they are queued) while the pipe fills and the writer blocks.
        for (int i = 0; i < 50; ++i) {
            const auto res = client.Get("/auth", {{"X-API-Key", k_bi_key}});
            REQUIRE(res);
        }
        CHECK(eventually([&] { return client.Get("/readyz")->status == 503; }, 1500ms));
        const auto ready = client.Get("/readyz");
        CHECK(ready->body == R"({"status":"audit blocked"})");
        const std::string metrics = client.Get("/metrics")->body;
        CHECK(sample_value(metrics, "keygate_audit_queue_depth") > 0);
        CHECK(sample_value(metrics, "keygate_audit_blocked_seconds_total") >= 0.5);

        // The reader comes back: ready again, and every line arrives.
        reader = std::thread([&] {
            char buffer[4096];
            for (;;) {
                const auto n = ::read(fds[0], buffer, sizeof buffer);
                if (n <= 0)
                    break;
                for (auto k = 0; k < n; ++k)
                    lines += buffer[k] == '\n';
            }
            done = true;
        });
        CHECK(eventually([&] { return client.Get("/readyz")->status == 200; }, 2s));
        // The lines queued meanwhile follow within moments.
        std::string after;
        CHECK(eventually(
            [&] {
                after = client.Get("/metrics")->body;
                return sample_value(after, "keygate_audit_queue_depth") == 0;
            },
            2s));
        const double blocked = sample_value(after, "keygate_audit_blocked_seconds_total");
        CHECK(blocked >= 0.5);
        std::this_thread::sleep_for(200ms);
        CHECK(sample_value(client.Get("/metrics")->body, "keygate_audit_blocked_seconds_total") ==
              blocked);
    }
    reader.join(); // the runtime closed its end: EOF
    ::close(fds[0]);
    CHECK(done);
    CHECK(lines >= 50); // every decision (and the config load line)
}
