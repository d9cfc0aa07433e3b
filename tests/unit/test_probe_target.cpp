// `keygate probe --url`: the URL forms it accepts and the ones it refuses.
#include "cli/probe_target.hpp"

#include <catch2/catch.hpp>

using keygate::cli::parse_probe_url;
using keygate::cli::readyz_target_of_listen;

TEST_CASE("probe URL: http host, port and path", "[probe_target]") {
    const auto t = parse_probe_url("http://127.0.0.1:8090/readyz");
    REQUIRE(t);
    CHECK_FALSE(t->unix_socket);
    CHECK(t->host == "127.0.0.1");
    CHECK(t->port == 8090);
    CHECK(t->path == "/readyz");
    CHECK(t->host_header() == "127.0.0.1:8090");
}

TEST_CASE("probe URL: defaults, names, IPv6 and queries", "[probe_target]") {
    const auto plain = parse_probe_url("http://localhost");
    REQUIRE(plain);
    CHECK(plain->port == 80);
    CHECK(plain->path == "/");
    const auto v6 = parse_probe_url("http://[::1]:9100/metrics?x=1");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 9100);
    CHECK(v6->path == "/metrics?x=1");
    CHECK(v6->host_header() == "[::1]:9100");
}

TEST_CASE("probe URL: a Unix socket with and without a path", "[probe_target]") {
    const auto with_path = parse_probe_url("unix:/run/keygate/keygate.sock:/readyz");
    REQUIRE(with_path);
    CHECK(with_path->unix_socket);
    CHECK(with_path->socket_path == "/run/keygate/keygate.sock");
    CHECK(with_path->path == "/readyz");
    CHECK(with_path->host_header() == "localhost");
    const auto bare = parse_probe_url("unix:/run/keygate.sock");
    REQUIRE(bare);
    CHECK(bare->socket_path == "/run/keygate.sock");
    CHECK(bare->path == "/");
}

TEST_CASE("probe URL: what is refused, and why", "[probe_target]") {
    const std::pair<const char*, const char*> bad[] = {
        {"https://127.0.0.1/readyz", "https is not supported"},
        {"127.0.0.1:8090/readyz", "must start with http:// or unix:"},
        {"http://:8090/readyz", "needs a host"},
        {"http://127.0.0.1:0/", "port must be"},
        {"http://127.0.0.1:65536/", "port must be"},
        {"http://127.0.0.1:80x/", "port must be"},
        {"http://127.0.0.1:/", "port must be"},
        {"http://user@127.0.0.1/", "user info"},
        {"http://[::1/", "misses its ']'"},
        {"http://[zz]:80/", "not an IPv6 address"},
        {"http://127.0.0.1/a b", "space or a control character"},
        {"http://127.0.0.1/a\r\nX: y", "space or a control character"},
        {"http://127.0.0.1/a#top", "fragment"},
        {"unix:run/keygate.sock", "absolute socket path"},
        {"unix:", "absolute socket path"},
    };
    for (const auto& [url, message] : bad) {
        INFO(url);
        const auto t = parse_probe_url(url);
        REQUIRE_FALSE(t);
        CHECK_THAT(t.error().message, Catch::Contains(message));
    }
}

TEST_CASE("probe target of a listen address: /readyz on the loopback or the socket",
          "[probe_target]") {
    const auto all = readyz_target_of_listen("0.0.0.0:8090");
    REQUIRE(all);
    CHECK(all->host == "127.0.0.1");
    CHECK(all->port == 8090);
    CHECK(all->path == "/readyz");
    const auto any_port = readyz_target_of_listen(":9000");
    REQUIRE(any_port);
    CHECK(any_port->host == "127.0.0.1");
    CHECK(any_port->port == 9000);
    const auto v6 = readyz_target_of_listen("[::]:8090");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->host_header() == "[::1]:8090");
    const auto named = readyz_target_of_listen("10.1.2.3:8091");
    REQUIRE(named);
    CHECK(named->host == "10.1.2.3");
    const auto sock = readyz_target_of_listen("unix:/run/keygate/keygate.sock");
    REQUIRE(sock);
    CHECK(sock->unix_socket);
    CHECK(sock->socket_path == "/run/keygate/keygate.sock");
    CHECK(sock->path == "/readyz");
    CHECK_FALSE(readyz_target_of_listen("127.0.0.1:0"));
    CHECK_FALSE(readyz_target_of_listen("no-port"));
}
