// Connection handling on a real socket: keep-alive, pipelining, many clients, slow clients,
// latency of a 401, idle limits, and a clean stop.
#include "server_harness.hpp"

#include <algorithm>
#include <atomic>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

using namespace keygate;
using namespace keygate::testing;

namespace {

const std::string k_denied_request =
    http_request("GET", "/auth/nginx", {{"X-API-Key", k_unknown_key}});
const std::string k_allowed_request = http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}});

using SteadyClock = std::chrono::steady_clock;

} // namespace

TEST_CASE("keep-alive goes on well beyond 5 requests", "[server][connections]") {
    const TestServer server;
    RawClient client(server.port());
    for (int i = 0; i < 50; ++i) {
        REQUIRE(client.send(i % 2 == 0 ? k_allowed_request : k_denied_request));
        const auto res = client.read_response();
        REQUIRE(res);
        CHECK(res->status == (i % 2 == 0 ? 200 : 401));
        CHECK(res->count("Connection") == 0);
    }
    CHECK_FALSE(client.closed_by_server(100ms));
}

TEST_CASE("pipelined requests are all answered, in order", "[server][connections]") {
    const TestServer server;
    RawClient client(server.port());
    std::string burst;
    for (int i = 0; i < 10; ++i)
        burst += i % 2 == 0 ? k_allowed_request : k_denied_request;
    REQUIRE(client.send(burst));
    for (int i = 0; i < 10; ++i) {
        const auto res = client.read_response(2s);
        REQUIRE(res);
        CHECK(res->status == (i % 2 == 0 ? 200 : 401));
    }
}

TEST_CASE("64 concurrent connections are all served", "[server][connections]") {
    TestServerConfig config; // starts with 2 threads
    const TestServer server(config);
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 64; ++i)
        clients.push_back(std::make_unique<RawClient>(server.port()));
    for (auto& client : clients)
        REQUIRE(client->send(k_allowed_request));
    for (auto& client : clients) {
        const auto res = client->read_response(5s);
        REQUIRE(res);
        CHECK(res->status == 200);
    }
    // Every connection is still open, on the loop, holding no worker.
    CHECK(server.listener().counters().connections == 64);
    CHECK(server.listener().pool().peak_threads() <= 2);
    for (auto& client : clients)
        REQUIRE(client->send(k_denied_request));
    for (auto& client : clients) {
        const auto res = client->read_response(5s);
        REQUIRE(res);
        CHECK(res->status == 401);
    }
}

TEST_CASE("a client that never finishes its headers delays no one", "[server][connections]") {
    TestServerConfig config;
    config.options.listener.read_timeout = 500ms;
    const TestServer server(config);
    RawClient slow(server.port());
    REQUIRE(slow.send("GET /auth HTTP/1.1\r\nHost: k\r\nX-Partial: "));

    const auto started = SteadyClock::now();
    const auto res = round_trip(server.port(), k_allowed_request);
    CHECK(res.status == 200);
    CHECK(SteadyClock::now() - started < 1s);

    // The head has a deadline as a whole: trickling bytes does not keep it open.
    RawClient trickle(server.port());
    REQUIRE(trickle.send("GET /auth HTTP/1.1\r\n"));
    const auto trickle_start = SteadyClock::now();
    bool closed = false;
    while (SteadyClock::now() - trickle_start < 3s && !closed) {
        closed = !trickle.send("X-A: b\r\n") || trickle.closed_by_server(100ms);
    }
    CHECK(closed);
    CHECK(slow.closed_by_server(3s));
}

TEST_CASE("a 401 arrives fast (no Nagle / delayed-ACK wait)", "[server][connections]") {
    const TestServer server;
    RawClient client(server.port());
    std::vector<double> round_trips_ms;
    for (int i = 0; i < 21; ++i) {
        const auto started = SteadyClock::now();
        REQUIRE(client.send(k_denied_request));
        const auto res = client.read_response();
        REQUIRE(res);
        REQUIRE(res->status == 401);
        if (i == 0)
            continue; // warm-up
        round_trips_ms.push_back(
            std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count());
    }
    std::sort(round_trips_ms.begin(), round_trips_ms.end());
    INFO("median " << round_trips_ms[round_trips_ms.size() / 2] << " ms");
    CHECK(round_trips_ms[round_trips_ms.size() / 2] < 20.0);
}

TEST_CASE("idle keep-alive connections end after the keep-alive timeout", "[server][connections]") {
    TestServerConfig config;
    config.options.listener.keep_alive_timeout = 1s;
    const TestServer server(config);
    RawClient client(server.port());
    REQUIRE(client.send(k_allowed_request));
    REQUIRE(client.read_response());
    const auto res = round_trip(server.port(), k_allowed_request);
    CHECK(res.header("Keep-Alive") == "timeout=1, max=1000000");
    CHECK_FALSE(client.closed_by_server(500ms));
    CHECK(client.closed_by_server(3s));
}

TEST_CASE("stop: requests in flight finish, idle connections close, run returns",
          "[server][connections]") {
    TestServer server;
    RawClient idle(server.port());
    REQUIRE(idle.send(k_allowed_request));
    REQUIRE(idle.read_response());

    RawClient in_flight(server.port());
    const std::string request = k_allowed_request;
    REQUIRE(in_flight.send(request.substr(0, 20)));
    // Both connections are on the loop (one idle, one mid-request), holding no thread.
    REQUIRE(eventually([&] {
        return server.listener().counters().connections == 2 &&
               server.listener().pool().busy_threads() == 0;
    }));

    const auto stop_started = SteadyClock::now();
    std::thread stopper([&] { server.server().stop(); });
    CHECK(idle.closed_by_server(2s));
    REQUIRE(in_flight.send(request.substr(20)));
    const auto res = in_flight.read_response(3s);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->header("Connection") == "close");
    CHECK(in_flight.closed_by_server(2s));
    stopper.join();
    REQUIRE(eventually([&] { return server.finished(); }, 5s));
    CHECK(server.run_result());
    CHECK(SteadyClock::now() - stop_started < 5s);

    // No longer accepting.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0);
    ::close(fd);
}

TEST_CASE("stop before run returns at once", "[server][connections]") {
    TestServerConfig config;
    ServerOptions options = config.options;
    KeySetHolder keys;
    NullAuditSink audit;
    KeygateServer server(options, HttpApiDeps{keys, audit, nullptr, now_ms});
    REQUIRE(server.bind("127.0.0.1", 0));
    server.stop();
    std::atomic<bool> returned{false};
    std::thread runner([&] {
        server.run();
        returned = true;
    });
    CHECK(eventually([&] { return returned.load(); }, 2s));
    runner.join();
}

TEST_CASE("binding a taken port fails with a message", "[server][connections]") {
    const TestServer first;
    KeySetHolder keys;
    NullAuditSink audit;
    KeygateServer second(TestServerConfig{}.options, HttpApiDeps{keys, audit, nullptr, now_ms});
    const auto port = second.bind("127.0.0.1", first.port());
    REQUIRE_FALSE(port);
    CHECK(port.error().message.starts_with("cannot listen on 127.0.0.1:" +
                                           std::to_string(first.port())));
}

namespace {

/// The accept backlog of the listening TCP socket on 127.0.0.1:`port`, as the kernel reports
/// it through sock_diag (what `ss -lt` shows as Send-Q), or -1.
int listen_backlog(int port) {
    const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = AF_INET;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << 10; // TCP_LISTEN
    message.request.id.idiag_sport = htons(static_cast<std::uint16_t>(port));
    int backlog = -1;
    if (::send(fd, &message, sizeof message, 0) == static_cast<ssize_t>(sizeof message)) {
        alignas(nlmsghdr) char buffer[16384];
        bool done = false;
        while (!done) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                break;
            auto* header = reinterpret_cast<nlmsghdr*>(buffer);
            for (int left = static_cast<int>(n); NLMSG_OK(header, left);
                 header = NLMSG_NEXT(header, left)) {
                if (header->nlmsg_type == NLMSG_DONE || header->nlmsg_type == NLMSG_ERROR) {
                    done = true;
                    break;
                }
                const auto* diag = reinterpret_cast<const inet_diag_msg*>(
                    reinterpret_cast<const char*>(header) + NLMSG_ALIGN(sizeof(nlmsghdr)));
                if (ntohs(diag->id.idiag_sport) == port)
                    backlog = static_cast<int>(diag->idiag_wqueue);
            }
        }
    }
    ::close(fd);
    return backlog;
}

} // namespace

TEST_CASE("the listen backlog is the configured one, not cpp-httplib's 5",
          "[server][connections]") {
    const TestServer server;
    CHECK(listen_backlog(server.port()) == 1024);
}
