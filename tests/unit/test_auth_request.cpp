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

TEST_CASE("apply_original_uri fills the request", "[request]") {
    AuthRequest request;
    apply_original_uri(request, read_original_uri("/v1/q?dataset=d"));
    CHECK(request.path == "/v1/q");
    CHECK(request.segments == std::vector<std::string>{"v1", "q"});
    CHECK(request.query_datasets == std::vector<std::string>{"d"});
}
