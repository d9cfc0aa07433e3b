#include "core/json_depth.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace keygate;

TEST_CASE("json depth: arrays and objects count, strings do not", "[json_depth]") {
    CHECK_FALSE(json_nesting_exceeds("", 0));
    CHECK_FALSE(json_nesting_exceeds("42", 0));
    CHECK(json_nesting_exceeds("[]", 0));
    CHECK_FALSE(json_nesting_exceeds(R"({"a":[1,{"b":2}]})", 3));
    CHECK(json_nesting_exceeds(R"({"a":[1,{"b":2}]})", 2));
    CHECK_FALSE(json_nesting_exceeds(R"([[],[],[],[]])", 2)); // siblings are not nesting
    CHECK_FALSE(json_nesting_exceeds(R"({"a":"[[[[{{{{"})", 1));
    CHECK_FALSE(json_nesting_exceeds(R"({"a":"\"[[[[\\"})", 1));
    CHECK(json_nesting_exceeds(R"({"a":"\\"}[[)", 1)); // an escaped backslash ends no string
    CHECK(json_nesting_exceeds("]]]][[[", 2));         // stray closers hide no opener
}

TEST_CASE("json depth: the default bound", "[json_depth]") {
    CHECK_FALSE(json_nesting_exceeds(std::string(k_max_json_depth, '[')));
    CHECK(json_nesting_exceeds(std::string(k_max_json_depth + 1, '{')));
}
