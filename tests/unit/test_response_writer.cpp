// A Response's header block and its bytes on the wire.
#include "http/response_writer.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate::http;

TEST_CASE("response: headers in the order set, unsafe ones dropped", "[response]") {
    Response res;
    res.status = 200;
    res.set_header("X-B", "2");
    res.set_header("X-A", " spaced: value ");
    res.set_header("X-Split", "a\r\nInjected: 1");
    res.set_header("X-Nul", std::string_view("a\0b", 3));
    res.set_header("Bad\nName", "v");
    res.set_header("Bad:Name", "v");
    res.set_header("", "v");
    res.set_header("x-b", "3");
    // Long names and values are checked eight bytes at a time: every position counts.
    for (std::size_t at = 0; at < 20; ++at) {
        for (const char bad : {'\r', '\n', '\0'}) {
            std::string value(20, 'v');
            value[at] = bad;
            res.set_header("X-Long-Value-Name", value);
            std::string name = "X-Long-Header-Name-0";
            name[at] = bad;
            res.set_header(name, "v");
        }
        std::string colon = "X-Long-Header-Name-0";
        colon[at] = ':';
        res.set_header(colon, "v");
    }
    REQUIRE(res.headers.size() == 3);
    std::string seen;
    for (const auto& [name, value] : res.headers)
        seen += std::string(name) + "=" + std::string(value) + ";";
    CHECK(seen == "X-B=2;X-A= spaced: value ;x-b=3;");
    CHECK(res.get_header_value("X-B") == "2");
    CHECK(res.get_header_value("X-B", 1) == "3");
    CHECK(res.get_header_value("X-B", 2).empty());
    CHECK(res.get_header_value_count("x-B") == 2);
    CHECK_FALSE(res.has_header("X-Split"));
    res.remove_header("X-b");
    CHECK(res.headers.block() == "X-A:  spaced: value \r\n");
    res.set_content("{}", "application/json");
    res.set_content("[]", "text/plain");
    CHECK(res.get_header_value_count("Content-Type") == 1);
    CHECK(res.get_header_value("content-type") == "text/plain");
    CHECK(res.body == "[]");
    res.clear();
    CHECK(res.headers.empty());
    CHECK(res.status == -1);
    CHECK(res.body.empty());
}

TEST_CASE("response writer: the block whole, the front end's framing", "[response]") {
    Response res;
    res.status = 401;
    res.set_header("WWW-Authenticate", "ApiKey header=\"X-API-Key\"");
    res.set_content("{\"code\":\"X\"}", "application/json");
    ResponseFraming framing;
    framing.keep_alive_timeout_s = 5;
    framing.keep_alive_max = 100;
    std::string out = "previous";
    write_response(res, framing, out);
    CHECK(out == "previousHTTP/1.1 401 Unauthorized\r\n"
                 "WWW-Authenticate: ApiKey header=\"X-API-Key\"\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 12\r\n"
                 "Keep-Alive: timeout=5, max=100\r\n\r\n"
                 "{\"code\":\"X\"}");

    // A handler's framing headers are replaced by the front end's own.
    Response framed;
    framed.status = 200;
    framed.set_header("Content-Length", "99");
    framed.set_header("X-Keep", "1");
    framed.set_header("connection", "keep-alive");
    framed.set_header("Transfer-Encoding", "chunked");
    framed.set_header("Keep-Alive", "timeout=1");
    framed.body = "ok";
    ResponseFraming closing;
    closing.close_connection = true;
    closing.head_request = true;
    std::string bytes;
    write_response(framed, closing, bytes);
    CHECK(bytes ==
          "HTTP/1.1 200 OK\r\nX-Keep: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");

    Response empty;
    empty.status = 204;
    ResponseFraming plain;
    plain.keep_alive_timeout_s = 75;
    std::string none;
    write_response(empty, plain, none);
    CHECK(none == "HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=75\r\n\r\n");

    Response odd;
    odd.status = 42; // no valid status: 500
    std::string internal;
    write_response(odd, plain, internal);
    CHECK(internal.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}
