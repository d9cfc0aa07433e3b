// The listener's event loop: auth requests are answered on the loop, with the same bytes a
// connection thread writes; anything else moves the connection to a thread and still works.
#include "server_harness.hpp"

using namespace keygate;
using namespace keygate::testing;

namespace {

TestServerConfig with_event_loop(bool on, bool direct = true) {
    TestServerConfig config;
    config.options.listener.event_loop = on;
    config.options.listener.direct_requests = direct;
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
        // How the library reads names, values and targets, which the direct path copies.
        "GET /auth/nginx HTTP/1.1\r\nHost: k\r\nX-Empty:\r\nX-Spaces:  \t \r\nX-API-Key: " +
            k_bi_key + " \t \r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key : " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nx-api-key:" + k_bi_key + "\r\n: no name\r\nno colon\r\n\r\n",
        "GET /auth/%6eginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx?x=1&y=%20 HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx?x=1?y HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx#frag HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nX-API-Key: " + k_bi_key +
            "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nX-API-Key: " + k_analyst_key +
            "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: %" + k_bi_key + "%zz%4\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "%00\r\nUser-Agent: a%00b\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nContent-Length: 0\r\n\r\n",
        "OPTIONS /auth HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nX-Forwarded-Uri: /v1/x\r\n\r\n",
        "GET /auth/envoy/v1/datasets/orders%2Fx?dataset=orders HTTP/1.1\r\nX-API-Key: " + k_bi_key +
            "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_limited_key + "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nX-Real-IP: 10.1.2.3\r\n" +
            "X-Forwarded-For: 1.2.3.4, 10.0.0.1\r\nREMOTE_ADDR: 10.1.0.9\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nConnection: keep-alive\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nX-API-Key: " + k_bi_key + "\r\nConnection: close\r\n\r\n",
        "GET /auth/nginx HTTP/1.0\r\nX-API-Key: " + k_bi_key + "\r\n\r\n",
        "GET /auth/nginx HTTP/1.1\r\nHost: k\r\nX-API-Key: " + k_bi_key + "\nX-Bare-LF: 1\r\n\r\n",
    };
}

} // namespace

TEST_CASE("the event loop answers auth requests with the bytes a connection thread writes",
          "[server][event-loop]") {
    // The reference: every request parsed and answered by cpp-httplib on a thread. Then the
    // loop through cpp-httplib's parser, and the loop reading and writing requests itself.
    const TestServer on_threads(with_event_loop(false));
    TestServerConfig library_config = with_event_loop(true, true);
    library_config.options.listener.direct_requests = false;
    const TestServer on_loop_library(library_config);
    const TestServer on_loop_direct(with_event_loop(true, true));
    const TestServer* servers[] = {&on_threads, &on_loop_library, &on_loop_direct};
    std::vector<std::unique_ptr<RawClient>> clients;
    const auto connect_all = [&] {
        clients.clear();
        for (const TestServer* server : servers)
            clients.push_back(std::make_unique<RawClient>(server->port()));
    };
    connect_all();
    const auto requests = auth_requests();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const bool head = requests[i].starts_with("HEAD");
        INFO("request " << i << ":\n" << requests[i]);
        std::vector<HttpResponse> answers;
        for (auto& client : clients) {
            REQUIRE(client->send(requests[i]));
            auto res = client->read_response(5s, head);
            REQUIRE(res);
            answers.push_back(std::move(*res));
        }
        for (std::size_t k = 1; k < answers.size(); ++k) {
            INFO("server " << k << " (1: loop through cpp-httplib, 2: loop direct)");
            CHECK(answers[k].head == answers[0].head);
            CHECK(answers[k].body == answers[0].body);
        }
        // An answer that ends its connection (an HTTP/1.0 request's too, though cpp-httplib
        // does not say so): start new ones on all servers.
        if (answers[0].count("Connection") != 0 ||
            requests[i].find(" HTTP/1.0\r\n") != std::string::npos) {
            for (auto& client : clients)
                CHECK(client->closed_by_server(2s));
            connect_all();
        }
    }
    // The comparison means something only if the loop answered most of them itself.
    CHECK(on_threads.listener().loop_counters().requests == 0);
    CHECK(on_loop_library.listener().loop_counters().requests >= 20);
    CHECK(on_loop_library.listener().loop_counters().direct == 0);
    CHECK(on_loop_direct.listener().loop_counters().direct >= 20);
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

TEST_CASE("a connection that never sends is closed after the read timeout",
          "[server][event-loop]") {
    const bool event_loop = GENERATE(true, false);
    INFO("event loop " << event_loop);
    TestServerConfig config = with_event_loop(event_loop);
    config.options.listener.stream.read_timeout = 500ms;
    const TestServer server(config);
    RawClient silent(server.port());
    // Open until the read timeout (the loop checks timeouts once a second), then closed.
    CHECK_FALSE(silent.closed_by_server(300ms));
    CHECK(silent.closed_by_server(3s));
    if (event_loop)
        CHECK(eventually([&] { return server.listener().loop_counters().connections == 0; }));
    // Others are served meanwhile and after.
    const auto res =
        round_trip(server.port(), http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}}));
    CHECK(res.status == 200);
}
