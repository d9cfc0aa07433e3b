#include "core/auth_request.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

TEST_CASE("key selection: header, bearer, query, conflicts", "[request]") {
    CHECK(select_key({"k1", std::nullopt, std::nullopt}).key == "k1");
    CHECK(select_key({std::nullopt, "Bearer k2", std::nullopt}).key == "k2");
    CHECK(select_key({std::nullopt, "bearer   k2  ", std::nullopt}).key == "k2");
    CHECK_FALSE(select_key({std::nullopt, "Basic dXNlcjpwYXNz", std::nullopt}).key);
    CHECK_FALSE(select_key({std::nullopt, "Bearer", std::nullopt}).key);
    CHECK(select_key({std::nullopt, std::nullopt, "k3"}).key == "k3");
    CHECK(select_key({"", std::nullopt, std::nullopt}).key == std::nullopt);
    const auto same = select_key({"k1", "Bearer k1", std::nullopt});
    CHECK(same.key == "k1");
    CHECK_FALSE(same.conflicting);
    const auto conflict = select_key({"k1", "Bearer k2", std::nullopt});
    CHECK(conflict.conflicting);
    CHECK_FALSE(conflict.key);
    CHECK(select_key({"k1", std::nullopt, "k9"}).conflicting);
}

TEST_CASE("original URIs: path, dataset and api_key parameters", "[request]") {
    const auto uri = parse_original_uri("/v1/datasets/orders/rows?dataset=a&x=1&dataset=b%20c",
                                        UriEncoding::raw);
    CHECK(uri.path == "/v1/datasets/orders/rows");
    CHECK(uri.segments == std::vector<std::string>{"v1", "datasets", "orders", "rows"});
    CHECK(uri.datasets == std::vector<std::string>{"a", "b c"});
    CHECK_FALSE(uri.api_key);
    CHECK(parse_original_uri("/x?api_key=k%2B1&api_key=k2", UriEncoding::raw).api_key == "k+1");
    CHECK(parse_original_uri("https://example.test/v1/query?dataset=o", UriEncoding::raw).path ==
          "/v1/query");
    CHECK(parse_original_uri("", UriEncoding::raw).path == "/");
    CHECK(parse_original_uri("/a#frag?dataset=x", UriEncoding::raw).datasets.empty());
    // already decoded by the HTTP library: never decoded twice
    const auto once = parse_original_uri("/v1/datasets/%63ustomers?dataset=%6F", UriEncoding::decoded_once);
    CHECK(once.segments == std::vector<std::string>{"v1", "datasets", "%63ustomers"});
    CHECK(once.datasets == std::vector<std::string>{"%6F"});
}

TEST_CASE("apply_original_uri fills the request", "[request]") {
    AuthRequest request;
    apply_original_uri(request, parse_original_uri("/v1/q?dataset=d", UriEncoding::raw));
    CHECK(request.path == "/v1/q");
    CHECK(request.segments == std::vector<std::string>{"v1", "q"});
    CHECK(request.query_datasets == std::vector<std::string>{"d"});
}
