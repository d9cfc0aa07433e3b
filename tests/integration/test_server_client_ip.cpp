// The client address on a real socket: the TCP peer, trusted proxies' X-Real-IP and
// X-Forwarded-For, and a client's own REMOTE_ADDR header ignored.
#include "server_harness.hpp"

using namespace keygate;
using namespace keygate::testing;

namespace {

std::vector<Cidr> ranges(std::initializer_list<std::string_view> texts) {
    std::vector<Cidr> out;
    for (auto text : texts)
        out.push_back(parse_cidr(text).value());
    return out;
}

/// The client address the server decided with, from the audit record.
std::string audited_client(const TestServer& server, const std::string& request) {
    const auto before = server.audit().records().size();
    round_trip(server.port(), request);
    const auto records = server.audit().records();
    REQUIRE(records.size() == before + 1);
    return records.back().client_ip;
}

} // namespace

TEST_CASE("client address from a trusted proxy", "[server][client_ip]") {
    TestServerConfig config;
    config.trusted_proxies = ranges({"127.0.0.1/32", "10.0.0.0/8"});
    const TestServer server(config);
    const auto with = [&](std::vector<std::pair<std::string, std::string>> headers) {
        headers.emplace_back("X-API-Key", k_bi_key);
        return audited_client(server, http_request("GET", "/auth", headers));
    };
    CHECK(with({}) == "127.0.0.1");
    CHECK(with({{"X-Real-IP", "203.0.113.5"}, {"X-Forwarded-For", "198.51.100.1"}}) ==
          "203.0.113.5");
    CHECK(with({{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.3"}}) == "203.0.113.7");
    CHECK(with({{"X-Forwarded-For", "10.0.0.9, 10.0.0.3"}}) == "10.0.0.9");
    CHECK(with({{"X-Forwarded-For", "2001:db8::7"}}) == "2001:db8::7");
    // Only X-Real-IP and X-Forwarded-For count.
    CHECK(with({{"Forwarded", "for=198.51.100.2"}, {"X-Client-IP", "198.51.100.3"}}) ==
          "127.0.0.1");
}

TEST_CASE("an untrusted peer is the client whatever it claims", "[server][client_ip]") {
    TestServerConfig config;
    config.trusted_proxies = ranges({"10.0.0.0/8"});
    const TestServer server(config);
    CHECK(audited_client(server, http_request("GET", "/auth",
                                              {{"X-API-Key", k_bi_key},
                                               {"X-Real-IP", "203.0.113.5"},
                                               {"X-Forwarded-For", "203.0.113.6"}})) ==
          "127.0.0.1");
    // ip_allowlist follows: 10.1.0.0/16 cannot be claimed by a header.
    const auto office = round_trip(
        server.port(),
        http_request("GET", "/auth", {{"X-API-Key", k_office_key}, {"X-Real-IP", "10.1.2.3"}}));
    CHECK(office.status == 403);
    CHECK(office.header("X-Auth-Error-Code") == "IP_NOT_ALLOWED");
}

TEST_CASE("a forged REMOTE_ADDR header is ignored", "[server][client_ip]") {
    // cpp-httplib 0.11.4 stores the peer address in a REMOTE_ADDR header next to the
    // client's own one; keygate takes the peer from getpeername() and drops both.
    for (const bool trusted_loopback : {true, false}) {
        DYNAMIC_SECTION("loopback trusted: " << trusted_loopback) {
            TestServerConfig config;
            config.trusted_proxies =
                trusted_loopback ? ranges({"127.0.0.1/32"}) : ranges({"10.0.0.0/8"});
            const TestServer server(config);
            const auto request = http_request("GET", "/auth",
                                              {{"REMOTE_ADDR", "10.1.2.3"},
                                               {"X-API-Key", k_office_key},
                                               {"remote_addr", "10.1.2.4"},
                                               {"REMOTE_PORT", "1"}});
            CHECK(audited_client(server, request) == "127.0.0.1");
            const auto res = round_trip(server.port(), request);
            CHECK(res.status == 403);
            CHECK(res.header("X-Auth-Error-Code") == "IP_NOT_ALLOWED");
        }
    }
}

TEST_CASE("IPv6 peers", "[server][client_ip]") {
    TestServerConfig config;
    config.host = "::1";
    const TestServer server(config);
    const auto ask = [&](const std::string& request) {
        RawClient client(server.port(), /*ipv6=*/true);
        REQUIRE(client.send(request));
        const auto res = client.read_response();
        REQUIRE(res);
        return *res;
    };
    // ::1 is a default trusted proxy: X-Real-IP counts.
    CHECK(ask(http_request("GET", "/auth", {{"X-API-Key", k_bi_key}})).status == 200);
    CHECK(ask(http_request("GET", "/auth", {{"X-API-Key", k_bi_key}, {"X-Real-IP", "2001:db8::9"}}))
              .status == 200);
    const auto records = server.audit().records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].client_ip == "::1");
    CHECK(records[1].client_ip == "2001:db8::9");
}
