// The trust boundary on a real server, as raw bytes: each auth endpoint reads one source for
// the original method and URI, header values are never percent-decoded, a head the strict
// reader refuses is never decided. Every case is sent plain and with a client's Range header
// (which must change nothing: nginx forwards it on auth subrequests).
#include "server_harness.hpp"

#include <nlohmann/json.hpp>

using namespace keygate;
using namespace keygate::testing;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Whether the request carries a Range header too.
enum class Path { plain, with_range };

std::string request_via(Path path, std::string_view target, Headers headers) {
    if (path == Path::with_range) {
        // Ignored: an answer is never cut to a range.
        headers.emplace_back("Range", "bytes=0-");
    }
    return http_request("GET", target, headers);
}

HttpResponse ask(const TestServer& server, Path path, std::string_view target,
                 const Headers& headers) {
    return round_trip(server.port(), request_via(path, target, headers));
}

std::string code_of(const HttpResponse& res) {
    return res.status == 200 ? "OK" : res.header("X-Auth-Error-Code");
}

} // namespace

TEST_CASE("trust boundary: each endpoint reads one source", "[server][trust]") {
    const TestServer server;
    for (const Path path : {Path::plain, Path::with_range}) {
        DYNAMIC_SECTION((path == Path::plain ? "plain" : "with Range")) {
            // What Traefik or Caddy sends for a client that forged nginx's headers.
            const Headers forged{{"X-API-Key", k_bi_key},
                                 {"X-Original-Method", "GET"},
                                 {"X-Original-URI", "/v1/datasets/orders/rows"},
                                 {"X-Forwarded-Method", "GET"},
                                 {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}};
            const auto forward = ask(server, path, "/auth/forward", forged);
            CHECK(forward.status == 403);
            CHECK(code_of(forward) == "DATASET_FORBIDDEN");
            CHECK(forward.header("X-Auth-Error-Detail") ==
                  "Not authorized for dataset 'customers'");
            // /auth sees both kinds disagree: row 0.
            const auto generic = ask(server, path, "/auth", forged);
            CHECK(generic.status == 400);
            CHECK(code_of(generic) == "INVALID_REQUEST");
            CHECK(generic.body == R"({"detail":"Invalid request","code":"INVALID_REQUEST"})");
            // A DELETE turned into a GET by a forged X-Original-Method.
            const Headers forged_method{{"X-API-Key", k_bi_key},
                                        {"X-Original-Method", "GET"},
                                        {"X-Forwarded-Method", "DELETE"},
                                        {"X-Forwarded-Uri", "/v1/datasets/orders/rows"}};
            CHECK(code_of(ask(server, path, "/auth/forward", forged_method)) ==
                  "INSUFFICIENT_PERMISSION");
            CHECK(code_of(ask(server, path, "/auth", forged_method)) == "INVALID_REQUEST");
            // /auth/nginx never reads X-Forwarded-*: nginx sets X-Original-* itself.
            const Headers nginx{{"X-API-Key", k_bi_key},
                                {"X-Original-Method", "GET"},
                                {"X-Original-URI", "/v1/datasets/orders/rows"},
                                {"X-Forwarded-Method", "DELETE"},
                                {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}};
            CHECK(ask(server, path, "/auth/nginx", nginx).status == 200);
            // A header repeated with different values: row 0 (403 with the code on nginx).
            const Headers twice{{"X-API-Key", k_bi_key},
                                {"X-Forwarded-Uri", "/v1/datasets/orders/rows"},
                                {"X-Forwarded-Uri", "/v1/datasets/customers/rows"}};
            CHECK(ask(server, path, "/auth/forward", twice).status == 400);
            const Headers twice_nginx{{"X-API-Key", k_bi_key},
                                      {"X-Original-URI", "/v1/datasets/orders/rows"},
                                      {"X-Original-URI", "/v1/datasets/customers/rows"}};
            const auto nginx_twice = ask(server, path, "/auth/nginx", twice_nginx);
            CHECK(nginx_twice.status == 403);
            CHECK(code_of(nginx_twice) == "INVALID_REQUEST");
            // The same value twice is one request.
            const Headers same{{"X-API-Key", k_bi_key},
                               {"X-Original-URI", "/v1/datasets/orders/rows"},
                               {"X-Original-URI", "/v1/datasets/orders/rows"}};
            CHECK(ask(server, path, "/auth/nginx", same).status == 200);
        }
    }
}

TEST_CASE("trust boundary: header values are raw, the URI reader decodes once", "[server][trust]") {
    const TestServer server;
    for (const Path path : {Path::plain, Path::with_range}) {
        DYNAMIC_SECTION((path == Path::plain ? "plain" : "with Range")) {
            const auto via_nginx = [&](const std::string& uri) {
                return ask(server, path, "/auth/nginx",
                           {{"X-API-Key", k_bi_key}, {"X-Original-URI", uri}});
            };
            // The two found bypasses.
            for (const char* uri : {"/v1/datasets/orders%3F/../customers/rows",
                                    "/v1/datasets/orders%23/../customers/rows",
                                    "/v1/query%3F/../datasets/orders/rows"}) {
                INFO(uri);
                const auto res = via_nginx(uri);
                CHECK(res.status == 403);
                CHECK(code_of(res) == "INVALID_REQUEST");
            }
            // "%2563" is "%63" once decoded: never read as 'c'.
            CHECK(code_of(via_nginx("/v1/datasets/%2563ustomers/rows")) == "INVALID_REQUEST");
            CHECK(code_of(via_nginx("/v1/datasets/%6Frders/rows")) == "OK");
            // A key is compared as sent: "%41" is not "A".
            std::string encoded_key = k_bi_key;
            encoded_key.replace(encoded_key.find('B'), 1, "%42");
            CHECK(code_of(ask(server, path, "/auth/nginx",
                              {{"X-API-Key", encoded_key},
                               {"X-Original-URI", "/v1/datasets/orders/rows"}})) == "INVALID_KEY");
            // X-Dataset too: "orders%2Fx" is no dataset name.
            CHECK(code_of(ask(server, path, "/auth/nginx",
                              {{"X-API-Key", k_bi_key},
                               {"X-Original-URI", "/v1/query"},
                               {"X-Dataset", "%6Frders"}})) == "DATASET_FORBIDDEN");
        }
    }
}

TEST_CASE("trust boundary: the endpoint is the raw target's path", "[server][trust]") {
    const TestServer server;
    // "/auth%2Fnginx" is no endpoint (cpp-httplib's decoded path would say it is).
    const auto res =
        round_trip(server.port(), http_request("GET", "/auth%2Fnginx", {{"X-API-Key", k_bi_key}}));
    CHECK(res.status == 404);
}

TEST_CASE("trust boundary: a head the strict reader refuses is never decided", "[server][trust]") {
    const TestServer server;
    const std::string good = "X-API-Key: " + k_bi_key + "\r\n";
    const std::vector<std::pair<const char*, std::string>> heads = {
        {"obs-fold",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "X-Original-URI: /v1/x\r\n /y\r\n\r\n"},
        {"space before colon",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "X-Original-URI : /v1/x\r\n\r\n"},
        {"NUL in a value",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good +
             std::string("X-Original-URI: /v1/datasets/orders\0/x\r\n\r\n",
                         sizeof "X-Original-URI: /v1/datasets/orders\0/x\r\n\r\n" - 1)},
        {"control byte",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "X-Original-URI: /v1/\x01x\r\n\r\n"},
        {"bare LF",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "X-A: 1\nX-Original-URI: /v1/x\r\n\r\n"},
        {"two Content-Length", "GET /auth HTTP/1.1\r\nHost: k\r\n" + good +
                                   "Content-Length: 0\r\nContent-Length: 0\r\n\r\n"},
        {"HTTP/1.0 obs-fold",
         "GET /auth HTTP/1.0\r\nHost: k\r\n" + good + "X-A: 1\r\n\tmore\r\n\r\n"},
        {"no Host (HTTP/1.1)", "GET /auth HTTP/1.1\r\n" + good + "X-Original-URI: /v1/x\r\n\r\n"},
        {"two Host fields", "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "Host: other\r\n\r\n"},
        {"two Host fields (HTTP/1.0)",
         "GET /auth HTTP/1.0\r\nHost: k\r\nhost: k\r\n" + good + "\r\n"},
        {"a Host with a space", "GET /auth HTTP/1.1\r\nHost: k k\r\n" + good + "\r\n"},
        {"a Host with a path", "GET /auth HTTP/1.1\r\nHost: k/v1\r\n" + good + "\r\n"},
        {"a Host with userinfo", "GET /auth HTTP/1.1\r\nHost: u@k\r\n" + good + "\r\n"},
        {"a Host with a bad port", "GET /auth HTTP/1.1\r\nHost: k:80x\r\n" + good + "\r\n"},
        {"a Host with an open IP literal", "GET /auth HTTP/1.1\r\nHost: [::1\r\n" + good + "\r\n"},
    };
    for (const auto& [name, head] : heads) {
        INFO(name);
        RawClient client(server.port());
        REQUIRE(client.send(head));
        const auto res = client.read_response(5s);
        REQUIRE(res);
        CHECK(res->status == 400);
        CHECK(res->header("Connection") == "close");
        CHECK(client.closed_by_server());
    }
    // None of them reached a decision.
    CHECK(server.audit().records().empty());
}

TEST_CASE("strict RFC 9112: framing conflicts are 400, oversized heads 431 (403 on /auth/nginx)",
          "[server][trust]") {
    const TestServer server;
    const std::string good = "X-API-Key: " + k_bi_key + "\r\n";
    struct Case {
        const char* name;
        std::string bytes;
        int status;
    };
    const std::vector<Case> cases = {
        {"Content-Length and Transfer-Encoding",
         "POST /v1/authorize HTTP/1.1\r\nHost: k\r\n" + good +
             "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"two Content-Length, 2 then 0 (a smuggled second request)",
         "POST /v1/authorize HTTP/1.1\r\nHost: k\r\n" + good +
             "Content-Length: 2\r\nContent-Length: 0\r\n\r\n{}GET /healthz HTTP/1.1\r\n\r\n",
         400},
        {"NUL in a name",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good +
             std::string("X-\0A: 1\r\n\r\n", sizeof "X-\0A: 1\r\n\r\n" - 1),
         400},
        {"a field line over 8 KiB",
         "GET /auth HTTP/1.1\r\nHost: k\r\n" + good + "X-Long: " + std::string(8200, 'a') +
             "\r\n\r\n",
         431},
        {"a head over 64 KiB",
         [&] {
             std::string head = "GET /auth HTTP/1.1\r\nHost: k\r\n" + good;
             for (int i = 0; head.size() < 70 * 1024; ++i)
                 head += "X-H" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
             return head + "\r\n";
         }(),
         431},
        {"a field line over 8 KiB on /auth/nginx",
         "GET /auth/nginx HTTP/1.1\r\nHost: k\r\n" + good + "X-Long: " + std::string(8200, 'a') +
             "\r\n\r\n",
         403},
        {"obs-fold on /auth/nginx",
         "GET /auth/nginx HTTP/1.1\r\nHost: k\r\n" + good + "X-A: 1\r\n more\r\n\r\n", 403},
        {"no Host on /auth/nginx", "GET /auth/nginx HTTP/1.1\r\n" + good + "\r\n", 403},
        {"two Host fields on /auth/nginx",
         "GET /auth/nginx HTTP/1.1\r\nHost: k\r\n" + good + "Host: k\r\n\r\n", 403},
        {"an invalid Host on /auth/nginx",
         "GET /auth/nginx HTTP/1.1\r\nHost: k k\r\n" + good + "\r\n", 403},
        {"no Host on /auth/forward", "GET /auth/forward HTTP/1.1\r\n" + good + "\r\n", 400},
        {"two Host fields on /healthz", "GET /healthz HTTP/1.1\r\nHost: k\r\nHost: k\r\n\r\n", 400},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        RawClient client(server.port());
        REQUIRE(client.send(c.bytes));
        const auto res = client.read_response(5s);
        REQUIRE(res);
        CHECK(res->status == c.status);
        CHECK(res->header("Connection") == "close");
        CHECK(client.closed_by_server());
    }
    CHECK(server.audit().records().empty());
}
