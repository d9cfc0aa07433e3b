// inspect_request_head(): which buffered heads the listener's event loop may answer.
#include "server/request_head.hpp"

#include <catch2/catch.hpp>
#include <string>

using keygate::inspect_request_head;

namespace {

std::string head(const std::string& line, const std::string& fields = "Host: k\r\n") {
    return line + "\r\n" + fields + "\r\n";
}

} // namespace

TEST_CASE("request head: incomplete heads are neither complete nor for the loop",
          "[request_head]") {
    for (const std::string bytes :
         {"", "GET /auth HTTP/1.1", "GET /auth HTTP/1.1\r\nHost: k\r\n",
          "GET /auth HTTP/1.1\r\nHost: k\n\n", "GET /auth HTTP/1.1\r\nHost: k\r\n\r"}) {
        INFO(bytes);
        const auto inspection = inspect_request_head(bytes);
        CHECK_FALSE(inspection.complete);
        CHECK_FALSE(inspection.for_loop);
    }
}

TEST_CASE("request head: auth endpoints without a body are for the loop", "[request_head]") {
    for (const std::string line :
         {"GET /auth HTTP/1.1", "GET /auth/nginx HTTP/1.1", "HEAD /auth/nginx HTTP/1.1",
          "POST /auth/envoy/v1/query?dataset=x HTTP/1.1", "GET /auth?x=1 HTTP/1.1",
          "GET /auth/envoy HTTP/1.0"}) {
        INFO(line);
        const auto inspection = inspect_request_head(head(line));
        CHECK(inspection.complete);
        CHECK(inspection.for_loop);
    }
    // Content-Length 0 (Envoy sends it) announces no body.
    CHECK(inspect_request_head(head("GET /auth HTTP/1.1", "Content-Length: 0\r\n")).for_loop);
    CHECK(inspect_request_head(head("GET /auth HTTP/1.1", "content-length:  00 \r\n")).for_loop);
    // Bytes after the head (a pipelined request) do not matter.
    CHECK(inspect_request_head(head("GET /auth HTTP/1.1") + "POST /v1/audit HT").for_loop);
}

TEST_CASE("request head: other endpoints and odd request lines go to a thread", "[request_head]") {
    for (const std::string line :
         {"GET /healthz HTTP/1.1", "POST /v1/authorize HTTP/1.1", "GET /authx HTTP/1.1",
          "GET /v1/auth HTTP/1.1", "GET  /auth HTTP/1.1", "GET /auth  HTTP/1.1", "GET /auth",
          "GET /auth HTTP/1.1 extra", "/auth HTTP/1.1", " GET /auth HTTP/1.1",
          "GET http://k/auth HTTP/1.1"}) {
        INFO(line);
        const auto inspection = inspect_request_head(head(line));
        CHECK(inspection.complete);
        CHECK_FALSE(inspection.for_loop);
    }
}

TEST_CASE("request head: any sign of a body goes to a thread", "[request_head]") {
    for (const std::string fields :
         {"Content-Length: 5\r\n", "Content-Length: 0x\r\n", "Content-Length:\r\n",
          "Content-Length: %30\r\n", "CONTENT-LENGTH: 1\r\n", "Content-Length : 1\r\n",
          "Transfer-Encoding: chunked\r\n", "transfer-encoding: identity\r\n",
          "Expect: 100-continue\r\n", "Content-Length: 0\r\nContent-Length: 1\r\n",
          // cpp-httplib cuts lines at a bare LF: a field behind one is still a field.
          "X-A: b\nContent-Length: 5\r\n", "X-A: b\nTransfer-Encoding: chunked\r\n"}) {
        INFO(fields);
        const auto inspection = inspect_request_head(head("GET /auth/nginx HTTP/1.1", fields));
        CHECK(inspection.complete);
        CHECK_FALSE(inspection.for_loop);
    }
}
