// parse_direct_head() and write_direct_response(): the event loop's own reading and writing
// of the simplest requests. (Byte equality with cpp-httplib's answers is checked end to end
// in tests/integration/test_server_event_loop.cpp.)
#include "server/direct_request.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace keygate;

namespace {

std::string head(const std::string& line, const std::string& fields = "Host: k\r\n") {
    return line + "\r\n" + fields + "\r\n";
}

} // namespace

TEST_CASE("direct head: the request line and raw fields", "[direct_request]") {
    httplib::Request req;
    const std::string bytes =
        head("GET /auth/%6eginx?x=%41 HTTP/1.1",
             "X-API-Key: pk_a%41b \t\r\nX-Empty:\r\nX-Blank:   \r\nx-api-key:second\r\n") +
        "NEXT REQUEST";
    const auto parsed = parse_direct_head(bytes, req);
    REQUIRE(parsed);
    CHECK(parsed->length == bytes.size() - std::string("NEXT REQUEST").size());
    CHECK_FALSE(parsed->close);
    CHECK(req.method == "GET");
    CHECK(req.target == "/auth/%6eginx?x=%41");
    CHECK(req.path == "/auth/nginx");
    CHECK(req.version == "HTTP/1.1");
    CHECK(req.get_header_value_count("X-API-Key") == 2);
    // Never percent-decoded (cpp-httplib would give "pk_aAb").
    CHECK(req.get_header_value("X-API-Key", 0) == "pk_a%41b");
    CHECK(req.get_header_value("X-API-Key", 1) == "second");
    CHECK_FALSE(req.has_header("X-Empty"));
    CHECK_FALSE(req.has_header("X-Blank"));
    CHECK(req.headers.size() == 2);
}

TEST_CASE("direct head: what the strict reader refuses is not taken", "[direct_request]") {
    for (const std::string& bytes : std::vector<std::string>{
             head("GET /auth HTTP/1.1", "no colon\r\n"),
             head("GET /auth HTTP/1.1", "Name With Space : v\r\n"),
             head("GET /auth HTTP/1.1", "X-A: v\r\n folded\r\n"),
             head("GET /auth HTTP/1.1", std::string("X-A: a\0b\r\n", 10))}) {
        INFO(bytes);
        httplib::Request req;
        CHECK_FALSE(parse_direct_head(bytes, req));
    }
}

TEST_CASE("direct head: the first Connection value decides", "[direct_request]") {
    httplib::Request a;
    CHECK(parse_direct_head(head("GET /auth HTTP/1.1", "Connection: close\r\n"), a)->close);
    httplib::Request b;
    CHECK_FALSE(parse_direct_head(head("GET /auth HTTP/1.1", "Connection: Close\r\n"), b)->close);
    httplib::Request c;
    CHECK_FALSE(
        parse_direct_head(head("GET /auth HTTP/1.1", "connection: x\r\nConnection: close\r\n"), c)
            ->close);
    httplib::Request d;
    CHECK(parse_direct_head(head("GET /auth HTTP/1.1", "Connection:\r\nConnection: close\r\n"), d)
              ->close);
}

TEST_CASE("direct head: heads it does not reproduce are left to cpp-httplib", "[direct_request]") {
    const std::string long_target = "/auth/" + std::string(8100, 'a');
    for (const std::string& bytes : std::vector<std::string>{
             head("GET /auth HTTP/1.0"), head("GET /auth HTTP/1.1", "X-A: b\nX-B: c\r\n"),
             head("GET /auth HTTP/1.1", "X-A: b\rc\r\n"),
             head("GET /auth HTTP/1.1", "Range: bytes=0-1\r\n"),
             head("GET /auth HTTP/1.1", "Expect: 100-continue\r\n"),
             head("GET /auth HTTP/1.1", "Transfer-Encoding: chunked\r\n"),
             head("GET /auth HTTP/1.1", "Content-Length: 1\r\n"),
             head("GET /auth HTTP/1.1", "Content-Length: 0\r\nContent-Length: 0\r\n"),

             head("GET /auth?a?b HTTP/1.1"), head("GET /auth#x HTTP/1.1"),
             head("CONNECT /auth HTTP/1.1"), head("BREW /auth HTTP/1.1"), head("GET auth HTTP/1.1"),
             head("GET  /auth HTTP/1.1"), head("GET /auth HTTP/1.1 x"),
             head("GET /au\x01th HTTP/1.1"), head("GET " + long_target + " HTTP/1.1"),
             head("GET /auth HTTP/1.1", "X-Long: " + std::string(8200, 'v') + "\r\n"),
             std::string("GET /auth HTTP/1.1\r\nHost: k\r\n")}) {
        INFO(bytes.substr(0, 80));
        httplib::Request req;
        CHECK_FALSE(parse_direct_head(bytes, req));
    }
    httplib::Request req;
    CHECK(parse_direct_head(head("POST /auth/envoy/x HTTP/1.1", "Content-Length: 0\r\n"), req));
}

TEST_CASE("direct response: the headers cpp-httplib adds, in the header map's order",
          "[direct_request]") {
    httplib::Request get;
    get.method = "GET";
    httplib::Response res;
    res.status = 401;
    res.set_header("X-Auth-Error-Code", "INVALID_KEY");
    res.set_content(R"({"detail":"x"})", "application/json");
    std::string out;
    write_direct_response(get, res, {false, 75, 1000000}, out);
    CHECK(out == "HTTP/1.1 401 Unauthorized\r\n"
                 "Content-Length: 14\r\n"
                 "Content-Type: application/json\r\n"
                 "Keep-Alive: timeout=75, max=1000000\r\n"
                 "X-Auth-Error-Code: INVALID_KEY\r\n"
                 "\r\n"
                 R"({"detail":"x"})");

    httplib::Request head_request;
    head_request.method = "HEAD";
    httplib::Response empty;
    empty.status = 200;
    std::string head_out;
    write_direct_response(head_request, empty, {true, 75, 5}, head_out);
    CHECK(head_out == "HTTP/1.1 200 OK\r\n"
                      "Accept-Ranges: bytes\r\n"
                      "Connection: close\r\n"
                      "Content-Length: 0\r\n"
                      "\r\n");

    // A header of the same name as one it adds goes first (emplace() appends after equals).
    httplib::Response named;
    named.status = 200;
    named.headers.emplace("connection", "upgrade");
    named.headers.emplace("B", "x");
    named.set_content("ok", "text/plain");
    std::string named_out;
    write_direct_response(get, named, {true, 75, 5}, named_out);
    CHECK(named_out == "HTTP/1.1 200 OK\r\n"
                       "B: x\r\n"
                       "connection: upgrade\r\n"
                       "Connection: close\r\n"
                       "Content-Length: 2\r\n"
                       "Content-Type: text/plain\r\n"
                       "\r\n"
                       "ok");
}
