// The strict request-head reader: raw values, RFC 9112's refusals.
#include "http/head_parser.hpp"
#include "http/message.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate;

namespace {

HeadProblem problem_of(std::string_view bytes) {
    RequestHead head;
    return parse_request_head(bytes, head);
}

} // namespace

TEST_CASE("head parser: a plain head, raw values, empty ones kept", "[head_parser]") {
    const std::string bytes = "GET /auth/nginx?x=%41 HTTP/1.1\r\n"
                              "Host: keygate\r\n"
                              "X-Original-URI:   /v1/datasets/orders%3F/../customers/rows  \r\n"
                              "X-Empty:\r\n"
                              "X-Tab:\tv\t\r\n"
                              "\r\n"
                              "NEXT";
    RequestHead head;
    REQUIRE(parse_request_head(bytes, head) == HeadProblem::none);
    CHECK(head.method == "GET");
    CHECK(head.target == "/auth/nginx?x=%41");
    CHECK(head.version == "HTTP/1.1");
    CHECK(head.length == bytes.size() - 4);
    REQUIRE(head.fields.size() == 4);
    CHECK(head.fields[1].name == "X-Original-URI");
    CHECK(head.fields[1].value == "/v1/datasets/orders%3F/../customers/rows"); // never decoded
    CHECK(head.fields[2].value.empty());
    CHECK(head.fields[3].value == "v");

    http::Request request;
    request.set_head(bytes, head);
    CHECK(request.method == "GET");
    CHECK(request.path == "/auth/nginx");  // the raw target up to '?'
    REQUIRE(request.fields().size() == 3); // the empty value is left out
    CHECK(request.header("x-original-uri") == "/v1/datasets/orders%3F/../customers/rows");
}

TEST_CASE("request: fields in arrival order, views that survive copies and moves",
          "[head_parser]") {
    const std::string bytes = "GET / HTTP/1.0\r\nb: 1\r\nA: 2\r\nB: 3\r\na: 4\r\n\r\n";
    RequestHead head;
    REQUIRE(parse_request_head(bytes, head) == HeadProblem::none);
    http::Request request;
    request.set_head(bytes, head);
    const auto order = [](const http::Request& r) {
        std::string out;
        for (const auto& [name, value] : r.fields())
            out += std::string(name) + "=" + std::string(value) + ";";
        return out;
    };
    CHECK(order(request) == "b=1;A=2;B=3;a=4;");
    CHECK(request.header("B") == "1"); // the first of either case
    http::Request copy = request;
    http::Request moved = std::move(request);
    CHECK(order(copy) == "b=1;A=2;B=3;a=4;");
    CHECK(order(moved) == "b=1;A=2;B=3;a=4;");
    moved.add_header("X-Later", "5"); // may move the buffer: every view follows
    CHECK(order(moved) == "b=1;A=2;B=3;a=4;X-Later=5;");
    copy = moved;
    CHECK(order(copy) == "b=1;A=2;B=3;a=4;X-Later=5;");
    copy.clear();
    CHECK(copy.fields().empty());
}

TEST_CASE("head parser: incomplete heads wait, oversized ones do not", "[head_parser]") {
    CHECK(problem_of("GET / HTTP/1.1\r\nHost: x\r\n") == HeadProblem::incomplete);
    CHECK(problem_of("") == HeadProblem::incomplete);
    // A field line over 8 KiB: 431 before the head is complete.
    const std::string long_line = "GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a');
    CHECK(problem_of(long_line) == HeadProblem::too_large);
    CHECK(problem_of(long_line + "\r\n\r\n") == HeadProblem::too_large);
    CHECK(head_problem_status(HeadProblem::too_large) == 431);
    // Exactly at the limit is fine.
    const std::string at_limit = "GET / HTTP/1.1\r\nHost: k\r\n" + std::string("X-Big: ") +
                                 std::string(k_max_field_line - 7, 'a') + "\r\n\r\n";
    CHECK(problem_of(at_limit) == HeadProblem::none);
    // A head over 64 KiB of small lines.
    std::string many = "GET / HTTP/1.1\r\n";
    while (many.size() <= k_max_head)
        many += "X-Field: " + std::string(100, 'b') + "\r\n";
    CHECK(problem_of(many) == HeadProblem::too_large);
    CHECK(problem_of(many + "\r\n") == HeadProblem::too_large);
}

TEST_CASE("head parser: RFC 9112's refusals", "[head_parser]") {
    const auto with = [](std::string_view fields) {
        return problem_of("GET /auth HTTP/1.1\r\nHost: x\r\n" + std::string(fields) + "\r\n");
    };
    CHECK(with("") == HeadProblem::none);
    CHECK(with("Content-Length: 2\r\nContent-Length: 0\r\n") ==
          HeadProblem::duplicate_content_length);
    CHECK(with("Content-Length: 0\r\ncontent-length: 0\r\n") ==
          HeadProblem::duplicate_content_length);
    CHECK(with("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") ==
          HeadProblem::length_and_chunked);
    CHECK(with(std::string("X-A: a\0b\r\n", 10)) == HeadProblem::control_byte);
    CHECK(with("X-A: a\x01"
               "b\r\n") == HeadProblem::control_byte);
    CHECK(with("X-A: a\x7f"
               "b\r\n") == HeadProblem::control_byte);
    CHECK(with("X-A : a\r\n") == HeadProblem::bad_field_name);
    CHECK(with("X-A\t: a\r\n") == HeadProblem::bad_field_name);
    CHECK(with(": a\r\n") == HeadProblem::bad_field_name);
    CHECK(with("X(A): a\r\n") == HeadProblem::bad_field_name);
    CHECK(with("no colon\r\n") == HeadProblem::bad_field_name);
    CHECK(with("X-A: a\r\n folded\r\n") == HeadProblem::obs_fold);
    CHECK(with("X-A: a\r\n\tfolded\r\n") == HeadProblem::obs_fold);
    CHECK(with("X-A: a\nX-B: b\r\n") == HeadProblem::bad_line_ending);
    CHECK(with("X-A: a\rX-B: b\r\n") == HeadProblem::bad_line_ending);
    CHECK(with("X-A: caf\xC3\xA9\r\n") == HeadProblem::none); // obs-text is allowed
    CHECK(head_problem_status(HeadProblem::obs_fold) == 400);
}

TEST_CASE("head parser: the request line", "[head_parser]") {
    CHECK(problem_of("GET /auth HTTP/1.0\r\n\r\n") == HeadProblem::none);
    CHECK(problem_of("GET  /auth HTTP/1.1\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("GET /a b HTTP/1.1\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("GET /auth HTTP/1.1 \r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("GET /auth HTTP/11\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("GET /auth\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("G(T /auth HTTP/1.1\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of(std::string("GET /a\0b HTTP/1.1\r\n\r\n", 22)) ==
          HeadProblem::bad_request_line);
    CHECK(problem_of("\r\nGET / HTTP/1.1\r\n\r\n") == HeadProblem::bad_request_line);
    CHECK(problem_of("GET /auth HTTP/1.1\n\r\n\r\n") == HeadProblem::bad_line_ending);
}

TEST_CASE("head parser: exactly one valid Host (RFC 9112 3.2)", "[head_parser]") {
    const auto head = [](std::string_view version, std::string_view fields) {
        return problem_of("GET /auth/nginx " + std::string(version) + "\r\n" + std::string(fields) +
                          "X-A: 1\r\n\r\n");
    };
    CHECK(head("HTTP/1.1", "") == HeadProblem::missing_host);
    CHECK(head("HTTP/1.0", "") == HeadProblem::none); // HTTP/1.0 predates Host
    CHECK(head("HTTP/1.1", "Host: a\r\nHost: a\r\n") == HeadProblem::duplicate_host);
    CHECK(head("HTTP/1.1", "Host: a\r\nhost: b\r\n") == HeadProblem::duplicate_host);
    CHECK(head("HTTP/1.0", "Host: a\r\nHOST: a\r\n") == HeadProblem::duplicate_host);
    CHECK(head("HTTP/1.1", "X-Host: a\r\nHosts: b\r\n") == HeadProblem::missing_host);
    CHECK(head_problem_status(HeadProblem::missing_host) == 400);
    CHECK(head_problem_status(HeadProblem::duplicate_host) == 400);
    CHECK(head_problem_status(HeadProblem::invalid_host) == 400);
    for (const char* good :
         {"Host: keygate\r\n", "Host: 127.0.0.1:8090\r\n", "Host: [::1]:8090\r\n",
          "Host: [2001:db8::7]\r\n", "Host: [v1.fe80::a+en1]\r\n", "Host: localhost\r\n",
          "Host: my-svc.ns.svc.cluster.local:80\r\n", "Host: a%2Db\r\n", "Host:\r\n",
          "Host:   \r\n", "Host: k:\r\n", "host: K\r\n"}) {
        INFO(good);
        CHECK(head("HTTP/1.1", good) == HeadProblem::none);
    }
    for (const char* bad :
         {"Host: a b\r\n", "Host: a/b\r\n", "Host: a@b\r\n", "Host: a:80:90\r\n", "Host: a:8x\r\n",
          "Host: [::1\r\n", "Host: []\r\n", "Host: [::1]x\r\n", "Host: [g::1]\r\n", "Host: ::1\r\n",
          "Host: a%2\r\n", "Host: a%zz\r\n", "Host: a,b c\r\n", "Host: caf\xC3\xA9\r\n",
          "Host: a\tb\r\n", "Host: a?b\r\n", "Host: a#b\r\n", "Host: [v.x]\r\n"}) {
        INFO(bad);
        CHECK(head("HTTP/1.1", bad) == HeadProblem::invalid_host);
    }
}

TEST_CASE("head parser: a control byte anywhere in a long value", "[head_parser]") {
    // Values are checked eight bytes at a time: each byte in each position.
    const auto with_value = [](const std::string& value) {
        return problem_of("GET / HTTP/1.1\r\nHost: k\r\nX-Long: " + value + "\r\n\r\n");
    };
    for (std::size_t at = 0; at < 20; ++at) {
        std::string value(20, 'v');
        for (const char bad : {'\0', '\x01', '\x1f', '\x7f', '\x0b'}) {
            value[at] = bad;
            INFO("position " << at << ", byte " << static_cast<int>(bad));
            CHECK(with_value(value) == HeadProblem::control_byte);
        }
        for (const char good : {'\t', ' ', '\x80', '\xff', '~'}) {
            value[at] = good;
            INFO("position " << at << ", byte " << static_cast<int>(good));
            // (a tab or space at either end is trimmed, not refused)
            CHECK(with_value(value) == HeadProblem::none);
        }
    }
}
