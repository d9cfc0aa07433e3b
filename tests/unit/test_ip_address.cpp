#include "core/ip_address.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

namespace {
bool in(const char* cidr, const char* ip) {
    const auto range = parse_cidr(cidr);
    const auto addr = parse_ip(ip);
    REQUIRE(range);
    REQUIRE(addr);
    return range->contains(*addr);
}
} // namespace

TEST_CASE("ip addresses parse exactly", "[ip]") {
    CHECK(to_string(*parse_ip("10.0.0.1")) == "10.0.0.1");
    CHECK(to_string(*parse_ip("0.0.0.0")) == "0.0.0.0");
    CHECK(to_string(*parse_ip("255.255.255.255")) == "255.255.255.255");
    CHECK(to_string(*parse_ip("192.168.100.9")) == "192.168.100.9");
    CHECK(to_string(*parse_ip("1.20.100.200")) == "1.20.100.200");
    CHECK(to_string(*parse_ip("::ffff:10.9.8.7")) == "10.9.8.7"); // a v4-mapped address
    CHECK(to_string(*parse_ip("::1")) == "::1");
    CHECK(to_string(*parse_ip("2001:DB8::1")) == "2001:db8::1");
    CHECK(*parse_ip("::ffff:10.0.0.1") == *parse_ip("10.0.0.1"));
    CHECK(parse_ip("10.0.0.1")->is_v4());
    CHECK_FALSE(parse_ip("::1")->is_v4());
    for (const char* bad : {"", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1:80", "[::1]",
                            "fe80::1%eth0", "host", " 10.0.0.1", "1.2.3.4.5"}) {
        INFO(bad);
        CHECK_FALSE(parse_ip(bad));
    }
}

TEST_CASE("cidr containment for v4, v6 and v4-mapped v6", "[ip]") {
    CHECK(in("10.0.0.0/8", "10.255.1.2"));
    CHECK_FALSE(in("10.0.0.0/8", "11.0.0.1"));
    CHECK(in("0.0.0.0/0", "203.0.113.9"));
    CHECK_FALSE(in("0.0.0.0/0", "2001:db8::1"));
    CHECK(in("192.168.1.100/32", "192.168.1.100"));
    CHECK_FALSE(in("192.168.1.100/32", "192.168.1.101"));
    CHECK(in("192.168.1.100", "192.168.1.100"));
    CHECK(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    CHECK(in("::ffff:10.0.0.0/104", "10.1.2.3"));
    CHECK(in("::/0", "2001:db8::1"));
    CHECK(in("::1/128", "::1"));
    CHECK_FALSE(in("::1/128", "::2"));
    CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
    CHECK_FALSE(in("2001:db8::/32", "2001:db9::1"));
    CHECK(in("10.0.0.0/9", "10.127.0.1"));
    CHECK_FALSE(in("10.0.0.0/9", "10.128.0.1"));
}

TEST_CASE("bad cidrs are refused with a reason", "[ip]") {
    CHECK(parse_cidr("10.0.0.1/8").error().message ==
          "'10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)");
    CHECK(parse_cidr("10.0.0.0/33").error().message ==
          "prefix length /33 is longer than 32 bits in '10.0.0.0/33'");
    CHECK(parse_cidr("::/129").error().message ==
          "prefix length /129 is longer than 128 bits in '::/129'");
    CHECK(parse_cidr("10.0.0.0/").error().message == "bad prefix length in '10.0.0.0/'");
    CHECK(parse_cidr("10.0.0.0/08").error().message == "bad prefix length in '10.0.0.0/08'");
    CHECK(parse_cidr("10.0.0.0/x").error().message == "bad prefix length in '10.0.0.0/x'");
    CHECK(parse_cidr("nope/8").error().message == "'nope' is not an IP address");
    CHECK(parse_cidr("10.0.0.0/8")->text == "10.0.0.0/8");
}

TEST_CASE("bad cidrs: a value is quoted cut to 16 characters", "[ip]") {
    // A key pasted into an address list must not be printed whole.
    const std::string pasted = "pk_acme_notarealsecret_0123456789abcdef";
    CHECK(parse_cidr(pasted).error().message == "'pk_acme_notareal...' is not an IP address");
    CHECK(parse_cidr(pasted + "/8").error().message ==
          "'pk_acme_notareal...' is not an IP address");
    CHECK(parse_cidr("10.0.0.0/" + pasted).error().message ==
          "bad prefix length in '10.0.0.0/pk_acme...'");
    CHECK(parse_cidr("2001:db8:1:2:3:4:5:1/64").error().message ==
          "'2001:db8:1:2:3:4...' has host bits set (did you mean 2001:db8:1:2::/64?)");
    CHECK(parse_cidr("0123456789abcdef").error().message ==
          "'0123456789abcdef' is not an IP address");
}
