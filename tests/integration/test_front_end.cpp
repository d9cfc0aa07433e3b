// The front end (src/http/): the event loop owns every connection. Slow clients hold no
// thread and delay no one; decisions run on the loop, the rest on the pool; a request
// reaches its handler only once it is here whole.
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <regex>
#include <sys/resource.h>

using namespace keygate;
using namespace keygate::testing;

namespace {

using SteadyClock = std::chrono::steady_clock;

const std::string k_allowed = http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}});
const std::string k_denied = http_request("GET", "/auth/nginx", {{"X-API-Key", k_unknown_key}});

/// Raises the descriptor limit to its hard limit; returns the soft limit now.
rlim_t raise_descriptor_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    // Root (as in CI) may raise the hard limit too.
    if (limit.rlim_max < 8192) {
        rlimit raised{8192, 8192};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

/// Milliseconds one request on a new connection takes to be answered.
double answer_ms(int port, const std::string& request, int expected_status) {
    const auto started = SteadyClock::now();
    const HttpResponse res = round_trip(port, request);
    const double ms =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
    CHECK(res.status == expected_status);
    return ms;
}

/// `count` connections to `port` that each send one byte of a request head a second
/// (never the end of it) until destroyed.
class SlowHeads {
  public:
    SlowHeads(int port, std::size_t count) {
        clients_.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            clients_.push_back(std::make_unique<RawClient>(port));
    }
    ~SlowHeads() { stop(); }
    SlowHeads(const SlowHeads&) = delete;
    SlowHeads& operator=(const SlowHeads&) = delete;

    /// Starts sending, one header byte a second on each connection.
    void start() {
        trickler_ = std::thread([this] {
            const std::string head =
                "GET /auth/nginx HTTP/1.1\r\nHost: k\r\nX-Slow: abcdefghijklmnop";
            for (std::size_t at = 0; !done_.load() && at < head.size(); ++at) {
                for (auto& client : clients_)
                    client->send(head.substr(at, 1));
                for (int i = 0; i < 10 && !done_.load(); ++i)
                    std::this_thread::sleep_for(100ms);
            }
        });
    }
    void stop() {
        done_ = true;
        if (trickler_.joinable())
            trickler_.join();
    }

  private:
    std::vector<std::unique_ptr<RawClient>> clients_;
    std::atomic<bool> done_{false};
    std::thread trickler_;
};

/// The value of an unlabelled sample on a metrics page; -1 when absent.
long sample_of(const std::string& page, const std::string& name) {
    const std::regex line("(^|\n)" + name + " ([0-9]+)\n");
    std::smatch match;
    return std::regex_search(page, match, line) ? std::stol(match[2]) : -1;
}

} // namespace

TEST_CASE("1 000 slow connections delay no endpoint's answer to another client by 100 ms",
          "[server][front-end]") {
    // Each slow connection costs two descriptors here (client and server side).
    const rlim_t descriptors = raise_descriptor_limit();
    const std::size_t slow_count = std::min<std::size_t>(1000, (descriptors - 200) / 2);
    INFO("descriptor limit " << descriptors);
    REQUIRE(slow_count == 1000);

    TestServerConfig config;
    config.options.listener.read_timeout = 20s; // the slow heads stay open for the test
    const TestServer server(config);
    SlowHeads slow(server.port(), slow_count);
    REQUIRE(
        eventually([&] { return server.listener().counters().connections == slow_count; }, 10s));
    // One header byte a second on each slow connection, for the whole test.
    slow.start();

    const std::string authorize = http_request(
        "POST", "/v1/authorize", {{"X-API-Key", k_bi_key}, {"Content-Type", "application/json"}},
        R"({"path":"/v1/datasets/orders/rows","method":"GET"})");
    struct Probe {
        const char* name;
        std::string request;
        int status;
    };
    const std::vector<Probe> probes = {
        {"/healthz", http_request("GET", "/healthz", {}), 200},
        {"/readyz", http_request("GET", "/readyz", {}), 200},
        {"/auth/nginx", k_allowed, 200},
        {"/auth (401)", k_denied, 401},
        {"/v1/authorize", authorize, 200},
        // Pool endpoints (the test server has no operations hooks: 404, but on the pool; the
        // real /metrics page is probed by the next test, on a whole serve runtime).
        {"/metrics", http_request("GET", "/metrics", {}), 404},
        {"/v1/keys", http_request("GET", "/v1/keys", {{"X-API-Key", k_admin_key}}), 200},
    };
    std::this_thread::sleep_for(1500ms); // the slow connections have started their heads
    for (int round = 0; round < 3; ++round) {
        for (const Probe& probe : probes) {
            INFO(probe.name << ", round " << round);
            CHECK(answer_ms(server.port(), probe.request, probe.status) < 100.0);
        }
    }
    // The slow connections are all still open, and none holds a thread (the pool may add
    // one or two workers for the probes that run on it, never one per connection).
    CHECK(server.listener().counters().connections >= slow_count);
    CHECK(server.listener().pool().peak_threads() <= 4);
    slow.stop();
}

TEST_CASE("1 000 slow connections delay the real /metrics page by no more than 100 ms",
          "[server][front-end]") {
    const rlim_t descriptors = raise_descriptor_limit();
    const std::size_t slow_count = std::min<std::size_t>(1000, (descriptors - 200) / 2);
    INFO("descriptor limit " << descriptors);
    REQUIRE(slow_count == 1000);

    // A whole serve runtime: /metrics rendered by the operations hooks serve wires.
    TempDir dir;
    cli::RuntimeOptions options;
    options.sources.config_path = dir.write("keys.yaml", test_key_file());
    options.listen_port = 0;
    options.audit_destination = "/dev/null";
    options.reload_interval = 0ms;
    options.server.listener.read_timeout = 20s; // the slow heads stay open for the test
    cli::ServeRuntime runtime(options);
    Diagnostics diagnostics;
    std::string error;
    REQUIRE(runtime.start(diagnostics, error));
    std::thread serving([&] { runtime.run(); });
    const int port = runtime.port();

    const auto metrics = [&] { return round_trip(port, http_request("GET", "/metrics", {})); };
    {
        SlowHeads slow(port, slow_count);
        // The page counts them (and this scrape's own connection).
        REQUIRE(eventually(
            [&] {
                return sample_of(metrics().body, "keygate_connections") >=
                       static_cast<long>(slow_count);
            },
            10s));
        slow.start();
        std::this_thread::sleep_for(1500ms); // the slow connections have started their heads
        for (int round = 0; round < 3; ++round) {
            INFO("round " << round);
            const auto started = SteadyClock::now();
            const HttpResponse res = metrics();
            const double ms =
                std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
            CHECK(res.status == 200);
            CHECK(res.body.find("# TYPE keygate_requests_total counter") != std::string::npos);
            CHECK(sample_of(res.body, "keygate_connections") > static_cast<long>(slow_count));
            CHECK(ms < 100.0);
        }
        slow.stop();
    }
    runtime.stop();
    serving.join();
}

TEST_CASE("decisions run on the loop, admin and metrics on the pool", "[server][front-end]") {
    const TestServer server;
    RawClient client(server.port());
    REQUIRE(client.send(k_allowed));
    REQUIRE(client.read_response()->status == 200);
    CHECK(server.listener().counters().on_pool == 0);
    REQUIRE(client.send(http_request("GET", "/v1/keys", {{"X-API-Key", k_admin_key}})));
    REQUIRE(client.read_response()->status == 200);
    CHECK(server.listener().counters().on_pool == 1);
}

TEST_CASE("pipelined requests for the loop and the pool are answered in order",
          "[server][front-end]") {
    const TestServer server;
    RawClient client(server.port());
    const std::string keys = http_request("GET", "/v1/keys", {{"X-API-Key", k_admin_key}});
    REQUIRE(client.send(k_allowed + keys + k_denied + keys + http_request("GET", "/healthz", {})));
    const int expected[] = {200, 200, 401, 200, 200};
    for (const int status : expected) {
        const auto res = client.read_response(3s);
        REQUIRE(res);
        CHECK(res->status == status);
    }
}

TEST_CASE("a body that arrives slowly holds no thread", "[server][front-end]") {
    const TestServer server;
    RawClient slow(server.port());
    const std::string body = R"({"path":"/v1/datasets/orders/rows","method":"GET"})";
    const std::string request =
        http_request("POST", "/v1/authorize", {{"X-API-Key", k_bi_key}}, body);
    REQUIRE(slow.send(request.substr(0, request.size() - 10)));
    std::this_thread::sleep_for(200ms);
    CHECK(server.listener().pool().busy_threads() == 0);
    CHECK(answer_ms(server.port(), k_allowed, 200) < 100.0);
    CHECK(server.audit().records().size() == 1); // the slow request is not decided yet
    REQUIRE(slow.send(request.substr(request.size() - 10)));
    const auto res = slow.read_response(2s);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find(R"("allowed":true)") != std::string::npos);
}

TEST_CASE("a client that never reads its answers delays no one", "[server][front-end]") {
    const TestServer server;
    RawClient greedy(server.port());
    // Thousands of pipelined auth requests whose answers are never read fill the socket
    // buffers: the loop waits for the socket to take them, serving everyone else.
    std::string burst;
    for (int i = 0; i < 200; ++i)
        burst += k_denied;
    std::thread sender([&] {
        for (int i = 0; i < 1000; ++i) {
            if (!greedy.send(burst))
                break;
        }
    });
    std::this_thread::sleep_for(300ms);
    CHECK(answer_ms(server.port(), k_denied, 401) < 100.0);
    CHECK(server.listener().pool().busy_threads() == 0);
    greedy.shutdown_now();
    sender.join();
}

TEST_CASE("a connection that never completes its head is closed after the read timeout",
          "[server][front-end]") {
    TestServerConfig config;
    config.options.listener.read_timeout = 500ms;
    const TestServer server(config);
    RawClient silent(server.port());
    RawClient partial(server.port());
    REQUIRE(partial.send("GET /auth/nginx HTTP/1.1\r\nHost: k\r\n"));
    CHECK_FALSE(silent.closed_by_server(300ms));
    CHECK(silent.closed_by_server(2s));
    CHECK(partial.closed_by_server(2s));
    CHECK(eventually([&] { return server.listener().counters().connections == 0; }));
    CHECK(server.listener().counters().timed_out >= 2);
    CHECK(answer_ms(server.port(), k_allowed, 200) < 100.0);
}

TEST_CASE("a client that half-closes after its request still gets the answer",
          "[server][front-end]") {
    const TestServer server;
    RawClient client(server.port());
    REQUIRE(client.send(k_allowed));
    client.shutdown_write();
    const auto res = client.read_response(2s);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(client.closed_by_server(2s));
}

TEST_CASE("framing a proxy could read differently is refused, and the connection closed",
          "[server][front-end]") {
    const TestServer server;
    const std::string chunked_head =
        "POST /v1/authorize HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string next = "GET /healthz HTTP/1.1\r\nHost: k\r\n\r\n";
    struct Case {
        const char* name;
        std::string bytes;
        int status;
    };
    const std::vector<Case> cases = {
        {"Transfer-Encoding twice",
         "POST /healthz HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n" +
             next,
         400},
        {"bare LF in a chunk extension", chunked_head + "1;a\nb\r\nA\r\n0\r\n\r\n" + next, 400},
        {"bare CR in a chunk extension", chunked_head + "1;a\rb\r\nA\r\n0\r\n\r\n" + next, 400},
        {"NUL in a chunk extension",
         chunked_head +
             std::string("1;a\0b\r\nA\r\n0\r\n\r\n", sizeof "1;a\0b\r\nA\r\n0\r\n\r\n" - 1) + next,
         400},
        {"whitespace after a chunk size without ';'", chunked_head + "1 \r\nA\r\n0\r\n\r\n" + next,
         400},
        {"bare LF in a trailer", chunked_head + "0\r\nX\nGET /smuggled HTTP/1.1\r\n\r\n", 400},
        {"a trailer that is no field", chunked_head + "0\r\n bad : x\r\n\r\n" + next, 400},
        {"chunk framing larger than any body",
         [&] {
             std::string body = chunked_head;
             for (int i = 0; i < 1200; ++i)
                 body += "1;" + std::string(1000, 'e') + "\r\nA\r\n";
             return body;
         }(),
         413},
        {"HTTP/2.0 in a request line", "GET /healthz HTTP/2.0\r\nHost: k\r\n\r\n", 505},
        {"/auth/nginx with a 9 KB target",
         "GET /auth/nginx?" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: k\r\n\r\n", 403},
        {"/auth/nginx with bare LF lines", "GET /auth/nginx HTTP/1.1\nHost: k\n\n", 403},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        RawClient client(server.port());
        REQUIRE(client.send(c.bytes));
        const auto res = client.read_response(3s);
        REQUIRE(res);
        CHECK(res->status == c.status);
        CHECK(res->header("Connection") == "close");
        CHECK(client.closed_by_server());
    }
    // A well-formed chunked body with an extension and a trailer is read.
    RawClient good(server.port());
    REQUIRE(good.send(chunked_head + "2;ext=1\r\n{}\r\n0\r\nX-Trailer: ok\r\n\r\n" + next));
    const auto first = good.read_response(3s);
    REQUIRE(first);
    CHECK(first->status == 401); // the body was read whole; the request has no key
    const auto second = good.read_response(3s);
    REQUIRE(second);
    CHECK(second->status == 200);
}

TEST_CASE("a half-closed client gets an answer to every request it sent whole",
          "[server][front-end]") {
    const TestServer server;
    RawClient client(server.port());
    std::string burst;
    for (int i = 0; i < 200; ++i)
        burst += http_request("GET", "/healthz", {});
    REQUIRE(client.send(burst + "GET /heal"));
    client.shutdown_write();
    for (int i = 0; i < 200; ++i) {
        const auto res = client.read_response(3s);
        REQUIRE(res);
        CHECK(res->status == 200);
    }
    CHECK(client.closed_by_server(2s));
}

TEST_CASE("an empty line between requests may arrive in two parts", "[server][front-end]") {
    const TestServer server;
    RawClient client(server.port());
    REQUIRE(client.send(http_request("GET", "/healthz", {}) + "\r"));
    REQUIRE(client.read_response()->status == 200);
    std::this_thread::sleep_for(100ms);
    REQUIRE(client.send("\n" + http_request("GET", "/healthz", {})));
    const auto res = client.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
}
