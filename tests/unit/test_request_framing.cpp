// Where a request ends: the head's empty line (found incrementally) and the body after it.
#include "http/request_framing.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate;
using namespace keygate::http;

namespace {

RequestHead head_of(const std::string& bytes) {
    RequestHead head;
    REQUIRE(parse_request_head(bytes, head) == HeadProblem::none);
    return head;
}

} // namespace

TEST_CASE("framing: a head found byte by byte, each byte scanned once", "[framing]") {
    const std::string head = "GET /auth HTTP/1.1\r\nHost: k\r\nX-A: 1\r\n\r\nGET /next";
    HeadScan scan;
    HeadScanResult result;
    std::size_t fed = 0;
    for (; fed < head.size(); ++fed) {
        result = scan_head(std::string_view(head).substr(0, fed + 1), scan);
        if (result.end != HeadEnd::incomplete)
            break;
        CHECK(scan.scanned == fed + 1);
    }
    REQUIRE(result.end == HeadEnd::complete);
    CHECK(result.length == head.find("GET /next"));
}

TEST_CASE("framing: refusals come before the head is whole", "[framing]") {
    HeadScan bare_lf;
    CHECK(scan_head("GET / HTTP/1.1\nHost", bare_lf).problem == HeadProblem::bad_line_ending);
    HeadScan bare_cr;
    CHECK(scan_head("GET / HTTP/1.1\rHost", bare_cr).problem == HeadProblem::bad_line_ending);
    HeadScan long_line;
    const std::string line = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
    CHECK(scan_head(line, long_line).problem == HeadProblem::too_large);
    HeadScan big_head;
    std::string head = "GET / HTTP/1.1\r\n";
    while (head.size() <= k_max_head)
        head += "X-A: " + std::string(1000, 'b') + "\r\n";
    CHECK(scan_head(head, big_head).problem == HeadProblem::too_large);
    HeadScan cr_at_end; // its LF may still come
    CHECK(scan_head("GET / HTTP/1.1\r", cr_at_end).end == HeadEnd::incomplete);
}

TEST_CASE("framing: Content-Length, chunked, and what is refused", "[framing]") {
    const auto framing = [](const std::string& fields) {
        return body_framing(head_of("POST / HTTP/1.1\r\nHost: k\r\n" + fields + "\r\n"), 1000);
    };
    CHECK(framing("Content-Length: 10\r\n").kind == BodyFraming::Kind::length);
    CHECK(framing("Content-Length: 10\r\n").length == 10);
    CHECK(framing("Content-Length: 0\r\n").kind == BodyFraming::Kind::none);
    CHECK(framing("").kind == BodyFraming::Kind::none);
    CHECK(framing("Transfer-Encoding: chunked\r\n").kind == BodyFraming::Kind::chunked);
    CHECK(framing("Content-Length: +1\r\n").status == 400);
    CHECK(framing("Content-Length: 1, 1\r\n").status == 400);
    CHECK(framing("Content-Length: 1001\r\n").status == 413);
    CHECK(framing("Content-Length: 99999999999999999999999\r\n").status == 413);
    CHECK(framing("Transfer-Encoding: gzip\r\n").status == 501);
    CHECK(framing("Transfer-Encoding: chunked, identity\r\n").status == 501);
    CHECK(framing("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n").status == 400);
    CHECK(framing("Expect: 100-continue\r\nContent-Length: 3\r\n").expect_continue);
}

TEST_CASE("framing: chunked bodies decode incrementally", "[framing]") {
    const std::string wire = "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
    std::string body;
    std::size_t pos = 0;
    ChunkedEnd end = ChunkedEnd::incomplete;
    for (std::size_t n = 1; n <= wire.size() && end == ChunkedEnd::incomplete; ++n)
        end = decode_chunked(std::string_view(wire).substr(0, n), 1000, body, pos);
    REQUIRE(end == ChunkedEnd::complete);
    CHECK(body == "abcde");
    CHECK(pos == wire.find("NEXT"));
}

TEST_CASE("framing: chunked framing a proxy could read differently is invalid", "[framing]") {
    const auto decode = [](const std::string& wire) {
        std::string body;
        std::size_t pos = 0;
        return decode_chunked(wire, 1000, body, pos);
    };
    CHECK(decode("1;a\nb\r\nA\r\n0\r\n\r\n") == ChunkedEnd::invalid);
    CHECK(decode(std::string("1;a\0b\r\nA\r\n0\r\n\r\n", sizeof "1;a\0b\r\nA\r\n0\r\n\r\n" - 1)) ==
          ChunkedEnd::invalid);
    CHECK(decode("1 \r\nA\r\n0\r\n\r\n") == ChunkedEnd::invalid);
    CHECK(decode("1 ;x\r\nA\r\n0\r\n\r\n") == ChunkedEnd::complete);
    CHECK(decode("0\r\nX\nGET / HTTP/1.1\r\n\r\n") == ChunkedEnd::invalid);
    CHECK(decode("0\r\n bad: x\r\n\r\n") == ChunkedEnd::invalid);
    CHECK(decode("1\r\nAB\r\n0\r\n\r\n") == ChunkedEnd::invalid);
    CHECK(decode("123456789\r\n") == ChunkedEnd::invalid);
    CHECK(decode("3e9\r\n") == ChunkedEnd::too_large);
}
