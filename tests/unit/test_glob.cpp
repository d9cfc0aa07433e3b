#include "core/glob.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate;

TEST_CASE("dataset globs", "[glob]") {
    CHECK(glob_match("orders", "orders"));
    CHECK_FALSE(glob_match("orders", "orders_raw"));
    CHECK(glob_match("orders*", "orders_raw"));
    CHECK(glob_match("orders*", "orders"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*_raw", "orders_raw"));
    CHECK(glob_match("ord?rs", "orders"));
    CHECK_FALSE(glob_match("ord?rs", "ordrs"));
    CHECK(glob_match("a*b*c", "axxbyyc"));
    CHECK_FALSE(glob_match("a*b*c", "axxbyy"));
    // no exponential blow-up on adversarial input
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

namespace {
// The pattern and segments of the last match(): its captures view them.
std::optional<RoutePattern> g_pattern;
std::vector<std::string> g_segments;

std::optional<RouteCaptures> match(const char* pattern, const char* path) {
    auto p = parse_route_pattern(pattern);
    REQUIRE(p);
    g_pattern = std::move(*p);
    g_segments = split_path(path, true);
    return match_route(*g_pattern, g_segments);
}
} // namespace

TEST_CASE("route patterns: *, ** and {name}", "[glob]") {
    CHECK(match("/v1/query", "/v1/query"));
    CHECK(match("/v1/query", "/v1/query/"));
    CHECK_FALSE(match("/v1/query", "/v1/query/x"));
    CHECK(match("/v1/*/rows", "/v1/orders/rows"));
    CHECK_FALSE(match("/v1/*/rows", "/v1/rows"));
    CHECK(match("/admin/**", "/admin"));
    CHECK(match("/admin/**", "/admin/keys/1"));
    CHECK_FALSE(match("/admin/**", "/administrator"));
    CHECK(match("/**", "/"));
    CHECK(match("/a/**/z", "/a/z"));
    CHECK(match("/a/**/z", "/a/b/c/z"));
    CHECK(match("/v1/report-*", "/v1/report-2024"));
    const auto captures = match("/v1/datasets/{dataset}/**", "/v1/datasets/orders/rows/1");
    REQUIRE(captures);
    REQUIRE(captures->size() == 1);
    CHECK(captures->at(0).first == "dataset");
    CHECK(captures->at(0).second == "orders");
    CHECK_FALSE(match("/v1/datasets/{dataset}/**", "/v1/datasets"));
}

TEST_CASE("bad route patterns", "[glob]") {
    CHECK(parse_route_pattern("v1/query").error().message == "a route path must start with '/'");
    CHECK(parse_route_pattern("/v1/{data set}").error().message ==
          "bad capture '{data set}': use {name} for a whole segment");
    CHECK(parse_route_pattern("/v1/x{dataset}").error().message ==
          "bad capture 'x{dataset}': use {name} for a whole segment");
    CHECK(parse_route_pattern("/v1/a**").error().message == "'**' must be a whole segment");
}

TEST_CASE("paths split into decoded, normalized segments", "[glob]") {
    using V = std::vector<std::string>;
    CHECK(split_path("/", true) == V{});
    CHECK(split_path("/v1//datasets/", true) == V{"v1", "datasets"});
    CHECK(split_path("/v1/datasets/orders/../customers/rows", true) ==
          V{"v1", "datasets", "customers", "rows"});
    CHECK(split_path("/v1/./x", true) == V{"v1", "x"});
    CHECK(split_path("/../../x", true) == V{"x"});
    CHECK(split_path("/v1/%2E%2E/x", true) == V{"x"});
    CHECK(split_path("/v1/a%2Fb", true) == V{"v1", "a/b"});
    CHECK(split_path("/v1/%6Frders", true) == V{"v1", "orders"});
    CHECK(split_path("/v1/%6Frders", false) == V{"v1", "%6Frders"});
    CHECK(percent_decode("a%zz%4") == "a%zz%4");
    CHECK(percent_decode("a+b%20c") == "a+b c");
}
