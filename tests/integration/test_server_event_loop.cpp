// The listener's event loop: auth requests are answered on the loop, with the same bytes a
// connection thread writes; anything else moves the connection to a thread and still works.
#include "server_harness.hpp"

using namespace keygate;
using namespace keygate::testing;

namespace {

TestServerConfig with_event_loop(bool on) {
    TestServerConfig config;
    config.options.listener.event_loop = on;
    return config;
}

/// Requests an auth endpoint may get from nginx, Traefik, Envoy or a client, covering each
/// status, header kind and framing the loop answers (and some it hands off).
std::vector<std::string> auth_requests() {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    return {
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_bi_key}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_unknown_key}}),
        http_request("GET", "/auth/nginx", Headers{}),
        http_request("GET", "/auth",
                     Headers{{"X-API-Key", k_analyst_key},
                             {"X-Forwarded-Method", "POST"},
                             {"X-Forwarded-Uri", "/v1/query?dataset=orders_raw"}}),
        http_request("GET", "/auth",
                     Headers{{"X-API-Key", k_bi_key},
                             {"X-Original-Method", "GET"},
                             {"X-Original-URI", "/v1/datasets/orders"}}),
        http_request("POST", "/auth/envoy/v1/query?dataset=orders",
                     Headers{{"X-API-Key", k_analyst_key}, {"Content-Length", "0"}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_disabled_key}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_expired_key}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_office_key}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_rotated_old_key}}),
        http_request("GET", "/auth/nginx",
                     Headers{{"Authorization", "Bearer " + k_admin_key}, {"Range", "bytes=5-1"}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", "%70k_acme%0d%0aX-Evil:%201"}}),
        http_request("HEAD", "/auth/nginx", Headers{{"X-API-Key", k_bi_key}}),
        http_request("GET", "/auth/nginx", Headers{{"X-API-Key", k_bi_key}, {"Expect", "x"}}),
        http_request("GET", "/authx", Headers{{"X-API-Key", k_bi_key}}),
        "BREW /auth/nginx HTTP/1.1\r\nHost: k\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nHost: k\r\nX-API-Key: " + k_bi_key + "\nX-Bare-LF: 1\r\n\r\n",
    };
}

} // namespace

TEST_CASE("the event loop answers auth requests with the bytes a connection thread writes",
          "[server][event-loop]") {
    const TestServer on_loop(with_event_loop(true));
    const TestServer on_threads(with_event_loop(false));
    auto loop_client = std::make_unique<RawClient>(on_loop.port());
    auto thread_client = std::make_unique<RawClient>(on_threads.port());
    const auto requests = auth_requests();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const bool head = requests[i].starts_with("HEAD");
        INFO("request " << i << ":\n" << requests[i]);
        REQUIRE(loop_client->send(requests[i]));
        REQUIRE(thread_client->send(requests[i]));
        const auto from_loop = loop_client->read_response(5s, head);
        const auto from_thread = thread_client->read_response(5s, head);
        REQUIRE(from_loop);
        REQUIRE(from_thread);
        CHECK(from_loop->head == from_thread->head);
        CHECK(from_loop->body == from_thread->body);
        // A request the parser refuses ends its connection: start a new one on both.
        if (from_loop->count("Connection") != 0) {
            CHECK(loop_client->closed_by_server(2s));
            CHECK(thread_client->closed_by_server(2s));
            loop_client = std::make_unique<RawClient>(on_loop.port());
            thread_client = std::make_unique<RawClient>(on_threads.port());
        }
    }
    // The comparison means something only if the loop answered most of them itself.
    CHECK(on_loop.listener().loop_counters().requests >= 10);
    CHECK(on_threads.listener().loop_counters().requests == 0);
}

TEST_CASE("a connection moves to a thread for a request the loop does not take",
          "[server][event-loop]") {
    const TestServer server(with_event_loop(true));
    RawClient client(server.port());
    const std::string auth = http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}});
    REQUIRE(client.send(auth));
    REQUIRE(client.read_response()->status == 200);
    CHECK(server.listener().loop_counters().requests == 1);
    CHECK(server.listener().loop_counters().handoffs == 0);
    CHECK(server.listener().loop_counters().connections == 1);

    SECTION("an endpoint other than auth") {
        REQUIRE(client.send(http_request("GET", "/healthz", {})));
        const auto res = client.read_response();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body == R"({"status":"ok"})");
    }
    SECTION("a request with a body") {
        const std::string body = R"({"dataset":"orders","permission":"read"})";
        REQUIRE(client.send(http_request("POST", "/v1/authorize",
                                         {{"X-API-Key", k_bi_key},
                                          {"Content-Type", "application/json"},
                                          {"Content-Length", std::to_string(body.size())}}) +
                            body));
        const auto res = client.read_response();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body.find(R"("allowed":true)") != std::string::npos);
    }
    SECTION("a head that arrives in two parts") {
        REQUIRE(client.send(auth.substr(0, 25)));
        std::this_thread::sleep_for(50ms);
        REQUIRE(client.send(auth.substr(25)));
        const auto res = client.read_response();
        REQUIRE(res);
        CHECK(res->status == 200);
    }
    SECTION("pipelined: an auth request and the start of another") {
        REQUIRE(client.send(auth + auth.substr(0, 30)));
        REQUIRE(client.read_response()->status == 200);
        REQUIRE(client.send(auth.substr(30)));
        REQUIRE(client.read_response()->status == 200);
    }
    CHECK(server.listener().loop_counters().handoffs == 1);
    CHECK(server.listener().loop_counters().connections == 0);
    // On its thread the connection keeps serving auth requests.
    for (int i = 0; i < 3; ++i) {
        REQUIRE(client.send(auth));
        const auto res = client.read_response();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->count("Connection") == 0);
    }
    CHECK_FALSE(client.closed_by_server(100ms));
}

TEST_CASE("a connection that is not read moves to a thread, and the loop serves others",
          "[server][event-loop]") {
    const TestServer server(with_event_loop(true));
    RawClient greedy(server.port());
    // Thousands of pipelined auth requests whose answers are never read fill the socket
    // buffers: the loop cannot send, so the connection moves to a thread.
    const std::string auth = http_request("GET", "/auth/nginx", {{"X-API-Key", k_unknown_key}});
    std::string burst;
    for (int i = 0; i < 200; ++i)
        burst += auth;
    std::thread sender([&] {
        for (int i = 0; i < 1000; ++i) {
            if (!greedy.send(burst))
                break;
        }
    });
    REQUIRE(eventually([&] { return server.listener().loop_counters().handoffs >= 1; }, 5s));
    const auto started = std::chrono::steady_clock::now();
    const auto res = round_trip(server.port(), auth);
    CHECK(res.status == 401);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    greedy.shutdown_now();
    sender.join();
}

TEST_CASE("connections on the loop hold no thread", "[server][event-loop]") {
    const TestServer server(with_event_loop(true));
    std::vector<std::unique_ptr<RawClient>> clients;
    const std::string auth = http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}});
    for (int i = 0; i < 32; ++i) {
        clients.push_back(std::make_unique<RawClient>(server.port()));
        REQUIRE(clients.back()->send(auth));
    }
    for (auto& client : clients)
        REQUIRE(client->read_response()->status == 200);
    CHECK(server.listener().loop_counters().connections == 32);
    CHECK(server.listener().pool().peak_threads() <= 2);
    CHECK(server.listener().pool().busy_threads() == 0);
}
