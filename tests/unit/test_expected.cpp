#include "core/expected.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

// The stand-in that the clang++-14 fuzz build uses in place of std::expected, checked here in
// the GCC build (where keygate::Expected is std::expected).
using keygate::expected_fallback::BadExpectedAccess;
using keygate::expected_fallback::Expected;
using keygate::expected_fallback::Unexpected;

namespace {

Expected<int, std::string> half(int x) {
    if (x % 2 != 0)
        return Unexpected(std::string("odd"));
    return x / 2;
}

Expected<void, std::string> check(bool ok) {
    if (!ok)
        return Unexpected(std::string("not ok"));
    return {};
}

} // namespace

TEST_CASE("expected stand-in: a value or an error", "[expected]") {
    const auto four = half(8);
    REQUIRE(four.has_value());
    CHECK(static_cast<bool>(four));
    CHECK(*four == 4);
    CHECK(four.value() == 4);
    CHECK(four.value_or(-1) == 4);

    const auto odd = half(3);
    REQUIRE_FALSE(odd);
    CHECK(odd.error() == "odd");
    CHECK(odd.value_or(-1) == -1);
    CHECK_THROWS_AS(odd.value(), BadExpectedAccess);
}

TEST_CASE("expected stand-in: the same type on both sides, members, moves", "[expected]") {
    Expected<std::string, std::string> value = std::string("v");
    Expected<std::string, std::string> error = Unexpected(std::string("e"));
    REQUIRE(value);
    REQUIRE_FALSE(error);
    CHECK(*value == "v");
    CHECK(value->size() == 1);
    CHECK(error.error() == "e");
    const std::string moved = std::move(value).value();
    CHECK(moved == "v");

    Expected<std::vector<int>, std::string> list = std::vector<int>{1, 2, 3};
    list->push_back(4);
    CHECK(list->size() == 4);
    list.emplace(2, 7);
    CHECK(*list == std::vector<int>{7, 7});
    const Expected<std::vector<int>, std::string> empty;
    CHECK(empty->empty()); // default-constructed: a value
}

TEST_CASE("expected stand-in: void", "[expected]") {
    CHECK(check(true).has_value());
    const auto failed = check(false);
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == "not ok");
    CHECK_THROWS_AS(failed.value(), BadExpectedAccess);
    CHECK_NOTHROW(check(true).value());
}

TEST_CASE("expected: keygate's names work with class template argument deduction", "[expected]") {
    const keygate::Expected<int, std::string> fine = 1;
    const keygate::Expected<int, std::string> bad = keygate::Unexpected(std::string("x"));
    CHECK(*fine == 1);
    CHECK(bad.error() == "x");
}
