// Bad input on a real socket: each gets a clear 4xx with a JSON body — never a crash, a hang,
// a 5xx, or a request byte in a response header.
#include "server_harness.hpp"

#include <nlohmann/json.hpp>

using namespace keygate;
using namespace keygate::testing;
using json = nlohmann::json;

namespace {

/// Every response header is printable ASCII: nothing a client sent can split or add one.
void check_clean_head(const HttpResponse& res) {
    INFO(res.head);
    for (std::size_t i = 0; i < res.head.size(); ++i) {
        const auto c = static_cast<unsigned char>(res.head[i]);
        if (c == '\r') {
            REQUIRE(i + 1 < res.head.size());
            CHECK(res.head[i + 1] == '\n');
            ++i;
            continue;
        }
        CHECK((c >= 0x20 && c < 0x7f));
    }
    CHECK(res.count("Set-Cookie") == 0);
    CHECK(res.count("X-Injected") == 0);
}

/// A 4xx with the JSON error shape and matching headers.
void check_clear_4xx(const HttpResponse& res, int status, const std::string& code) {
    INFO(res.head << "\n\n" << res.body);
    CHECK(res.status == status);
    CHECK(res.header("Content-Type") == "application/json");
    const json body = json::parse(res.body);
    CHECK(body["code"] == code);
    CHECK(body["detail"].is_string());
    CHECK(res.header("X-Auth-Error-Code") == code);
    check_clean_head(res);
}

void check_still_serving(const TestServer& server) {
    CHECK(round_trip(server.port(), http_request("GET", "/healthz")).status == 200);
}

std::string many_headers(std::size_t count) {
    std::string request = "GET /auth HTTP/1.1\r\nHost: keygate\r\n";
    for (std::size_t i = 0; i < count; ++i)
        request += "X-H" + std::to_string(i) + ": v\r\n";
    return request + "\r\n";
}

} // namespace

TEST_CASE("10 000 headers: 431, then the connection closes", "[server][hardening]") {
    const TestServer server;
    RawClient client(server.port());
    REQUIRE(client.send(many_headers(10'000)));
    const auto res = client.read_response();
    REQUIRE(res);
    check_clear_4xx(*res, 431, "HEADERS_TOO_LARGE");
    CHECK(res->body == R"({"detail":"Request headers too large","code":"HEADERS_TOO_LARGE"})");
    CHECK(client.closed_by_server());
    check_still_serving(server);
}

TEST_CASE("header count and size limits", "[server][hardening]") {
    const TestServer server;
    CHECK(round_trip(server.port(), many_headers(90)).status == 401);
    check_clear_4xx(round_trip(server.port(), many_headers(101)), 431, "HEADERS_TOO_LARGE");
    // Under the per-line limit, over 16 KiB in all.
    const std::string big(7000, 'a');
    check_clear_4xx(
        round_trip(server.port(),
                   http_request("GET", "/auth", {{"X-A", big}, {"X-B", big}, {"X-C", big}})),
        431, "HEADERS_TOO_LARGE");
    // An endless stream of headers is cut off at 64 KiB, while reading (RFC 9112: 431).
    RawClient endless(server.port());
    REQUIRE(endless.send(many_headers(40'000).substr(0, 600'000)));
    const auto cut = endless.read_response();
    REQUIRE(cut);
    check_clear_4xx(*cut, 431, "HEADERS_TOO_LARGE");
    check_still_serving(server);
}

TEST_CASE("a 64 KiB header and a 10 KB key", "[server][hardening]") {
    const TestServer server;
    RawClient client(server.port());
    REQUIRE(client.send(http_request("GET", "/auth", {{"X-Big", std::string(64 * 1024, 'b')}})));
    const auto res = client.read_response();
    REQUIRE(res);
    check_clear_4xx(*res, 431, "HEADERS_TOO_LARGE");
    CHECK(client.closed_by_server());

    // A field line over 8 KiB.
    check_clear_4xx(
        round_trip(server.port(),
                   http_request("GET", "/auth", {{"X-API-Key", "pk_" + std::string(10'000, 'k')}})),
        431, "HEADERS_TOO_LARGE");
    // A long key under the line limit is simply unknown.
    check_clear_4xx(
        round_trip(server.port(), http_request("GET", "/auth/nginx",
                                               {{"X-API-Key", "pk_" + std::string(7'000, 'k')}})),
        401, "INVALID_KEY");
    check_still_serving(server);
}

TEST_CASE("binary bytes and encoded CR LF in header values", "[server][hardening]") {
    const TestServer server;
    // Header values are never percent-decoded: %0d%0a stays six harmless characters.
    const auto dataset = round_trip(
        server.port(),
        http_request("GET", "/auth",
                     {{"X-API-Key", k_bi_key}, {"X-Dataset", "orders%0d%0aSet-Cookie:%20evil=1"}}));
    check_clear_4xx(dataset, 403, "DATASET_FORBIDDEN");
    const std::string detail = json::parse(dataset.body)["detail"];
    CHECK(detail == "Not authorized for dataset 'orders?0d?0aSet-Cookie:?20evil?1'");
    CHECK(dataset.header("X-Auth-Error-Detail") == detail);

    // An encoded CR LF inside a path segment makes the request ambiguous (403 on nginx).
    const auto path =
        round_trip(server.port(),
                   http_request("GET", "/auth/nginx",
                                {{"X-API-Key", k_bi_key},
                                 {"X-Original-URI", "/v1/datasets/a%0d%0aX-Injected:%201/rows"}}));
    check_clear_4xx(path, 403, "INVALID_REQUEST");

    // Raw control bytes in a header value: the head is refused before any decision.
    const auto binary_key = round_trip(
        server.port(), http_request("GET", "/auth", {{"X-API-Key", "pk_\x01\x7f\xff\xfe%00"}}));
    check_clear_4xx(binary_key, 400, "BAD_REQUEST");
    // Bytes over 0x7f are obs-text: allowed in a value, and no key.
    const auto high_key =
        round_trip(server.port(), http_request("GET", "/auth", {{"X-API-Key", "pk_\xff\xfe"}}));
    check_clear_4xx(high_key, 401, "INVALID_KEY");

    const auto binary_uri = round_trip(
        server.port(), http_request("GET", "/auth",
                                    {{"X-API-Key", k_bi_key},
                                     {"X-Original-URI", "/v1/datasets/\x01\xff/x?dataset=\x80"}}));
    check_clear_4xx(binary_uri, 400, "BAD_REQUEST");
    const auto high_uri = round_trip(
        server.port(), http_request("GET", "/auth",
                                    {{"X-API-Key", k_bi_key},
                                     {"X-Original-URI", "/v1/datasets/\xff/x?dataset=\x80"}}));
    check_clear_4xx(high_uri, 400, "INVALID_REQUEST"); // not UTF-8: ambiguous
    const auto method =
        round_trip(server.port(),
                   http_request("GET", "/auth",
                                {{"X-API-Key", k_bi_key}, {"X-Original-Method", "G\x01T%0d%0a"}}));
    check_clean_head(method);
    CHECK(method.status == 400);
    const auto odd_method =
        round_trip(server.port(),
                   http_request("GET", "/auth",
                                {{"X-API-Key", k_bi_key}, {"X-Original-Method", "GET%0d%0aX: y"}}));
    check_clear_4xx(odd_method, 400, "INVALID_REQUEST");
    check_still_serving(server);
}

TEST_CASE("bodies: capped, chunked included, and never awaited without a length",
          "[server][hardening]") {
    const TestServer server;
    // Declared too large: answered before a byte of it is read.
    RawClient declared(server.port());
    REQUIRE(declared.send("POST /auth HTTP/1.1\r\nHost: k\r\nContent-Length: 2097152\r\n\r\n"));
    const auto too_large = declared.read_response(2s);
    REQUIRE(too_large);
    check_clear_4xx(*too_large, 413, "PAYLOAD_TOO_LARGE");
    CHECK(declared.closed_by_server());

    // Chunked past the cap.
    RawClient chunked(server.port());
    REQUIRE(chunked.send(
        "POST /v1/authorize HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk(64 * 1024, 'x');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
    for (int i = 0; i < 20; ++i) {
        if (!chunked.send(std::string(size_line) + chunk + "\r\n"))
            break;
    }
    const auto chunked_res = chunked.read_response();
    REQUIRE(chunked_res);
    check_clear_4xx(*chunked_res, 413, "PAYLOAD_TOO_LARGE");

    // A POST without Content-Length has no body (cpp-httplib would wait for the close).
    RawClient no_length(server.port());
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(
        no_length.send("POST /auth HTTP/1.1\r\nHost: k\r\nX-API-Key: " + k_bi_key + "\r\n\r\n"));
    const auto answered = no_length.read_response(2s);
    REQUIRE(answered);
    CHECK(answered->status == 200);
    CHECK(std::chrono::steady_clock::now() - started < 1s);

    // A small chunked body is read.
    const auto small = round_trip(
        server.port(), "POST /v1/authorize HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Type: application/json\r\nX-API-Key: " +
                           k_bi_key + "\r\n\r\nd\r\n{\"dataset\":1}\r\n0\r\n\r\n");
    // Read whole: the JSON is judged (and refused) field by field.
    CHECK(small.status == 400);
    CHECK(small.body == R"({"detail":"'dataset' must be a string","code":"BAD_REQUEST"})");
    check_still_serving(server);
}

TEST_CASE("body framing and encodings that are refused", "[server][hardening]") {
    const TestServer server;
    check_clear_4xx(round_trip(server.port(),
                               "POST /auth HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: gzip\r\n\r\n"),
                    501, "NOT_IMPLEMENTED");
    check_clear_4xx(round_trip(server.port(),
                               "POST /auth HTTP/1.1\r\nHost: k\r\nContent-Length: 3\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                    400, "BAD_REQUEST");
    check_clear_4xx(
        round_trip(server.port(), "POST /auth HTTP/1.1\r\nHost: k\r\nContent-Length: x1\r\n\r\n"),
        400, "BAD_REQUEST");
    check_clear_4xx(
        round_trip(
            server.port(),
            "POST /auth HTTP/1.1\r\nHost: k\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        413, "PAYLOAD_TOO_LARGE");
    check_clear_4xx(round_trip(server.port(),
                               "POST /auth HTTP/1.1\r\nHost: k\r\nContent-Encoding: gzip\r\n"
                               "Content-Length: 2\r\n\r\nxx"),
                    415, "UNSUPPORTED_MEDIA_TYPE");
    // A GET with a body is answered; the body is read (framed by its length), so it is
    // never taken for a next request, and the connection goes on.
    RawClient get_body(server.port());
    REQUIRE(get_body.send("GET /auth HTTP/1.1\r\nHost: k\r\nX-API-Key: " + k_bi_key +
                          "\r\nContent-Length: 25\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"));
    const auto res = get_body.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find("\"status\":\"ok\"") == std::string::npos);
    CHECK_FALSE(get_body.closed_by_server(200ms));
    check_still_serving(server);
}

TEST_CASE("unparsable requests", "[server][hardening]") {
    const TestServer server;
    for (const std::string& request :
         {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
          std::string("GET /auth\r\n\r\n"),
          std::string("GET /" + std::string(9000, 'u') + " HTTP/1.1\r\nHost: k\r\n\r\n")}) {
        RawClient client(server.port());
        REQUIRE(client.send(request));
        const auto res = client.read_response();
        REQUIRE(res);
        INFO(res->head);
        CHECK(res->status >= 400);
        CHECK(res->status < 500);
        CHECK(json::parse(res->body)["code"].is_string());
        CHECK(client.closed_by_server());
    }
    check_still_serving(server);
}

TEST_CASE("Range headers do not cut or replace answers", "[server][hardening]") {
    const TestServer server;
    for (const char* range : {"bytes=0-3", "bytes=5000-", "bytes=abc", "bytes=0-1,3-4"}) {
        INFO(range);
        const auto res =
            round_trip(server.port(), http_request("GET", "/auth/nginx", {{"Range", range}}));
        CHECK(res.status == 401);
        CHECK(res.body == R"({"detail":"API key required","code":"MISSING_KEY"})");
    }
}

TEST_CASE("an exception in a handler is a generic 500 without its text", "[server][hardening]") {
    TestServerConfig config;
    config.clock = []() -> TimePoint { throw std::runtime_error("secret internal detail"); };
    const TestServer server(config);
    const auto res =
        round_trip(server.port(), http_request("GET", "/auth", {{"X-API-Key", k_bi_key}}));
    CHECK(res.status == 500);
    CHECK(res.body == R"({"detail":"Internal error","code":"INTERNAL"})");
    CHECK(res.head.find("secret") == std::string::npos);
    CHECK(res.count("EXCEPTION_WHAT") == 0);
    // nginx would show its own 500: /auth/nginx says 403, with the code.
    const auto nginx =
        round_trip(server.port(), http_request("GET", "/auth/nginx", {{"X-API-Key", k_bi_key}}));
    CHECK(nginx.status == 403);
    CHECK(nginx.header("X-Auth-Error-Code") == "INTERNAL");
    check_still_serving(server);
}

TEST_CASE("/auth/nginx never answers anything but 200, 401 or 403", "[server][hardening]") {
    const TestServer server;
    check_clear_4xx(round_trip(server.port(), many_headers(200).replace(4, 5, "/auth/nginx")), 403,
                    "HEADERS_TOO_LARGE");
    const auto bad_line = round_trip(
        server.port(), http_request("GET", "/auth/nginx", {{"X-Big", std::string(9000, 'b')}}));
    CHECK(bad_line.status == 403);
    CHECK(bad_line.header("X-Auth-Error-Code") == "HEADERS_TOO_LARGE");
    const auto body = round_trip(
        server.port(), "POST /auth/nginx HTTP/1.1\r\nHost: k\r\nContent-Length: 9999999\r\n\r\n");
    CHECK(body.status == 403);
}

TEST_CASE("Expect: 100-continue bodies are read", "[server][hardening]") {
    const TestServer server;
    RawClient client(server.port());
    const std::string body = R"({"dataset":"orders"})";
    REQUIRE(client.send("POST /v1/authorize HTTP/1.1\r\nHost: k\r\nExpect: 100-continue\r\n"
                        "Content-Type: application/json\r\nX-API-Key: " +
                        k_bi_key + "\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n"));
    const auto interim = client.read_response(2s);
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(client.send(body));
    const auto res = client.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
}
