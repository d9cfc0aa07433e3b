// Hand-written JSON strings are valid JSON whatever the input.
#include "infra/json_text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace keygate;

TEST_CASE("json strings: escapes", "[json_text]") {
    CHECK(json_string("plain") == "\"plain\"");
    CHECK(json_string("q\"b\\") == R"("q\"b\\")");
    CHECK(json_string("\r\n\t") == R"("\r\n\t")");
    CHECK(json_string(std::string_view("\x00\x1f\x7f", 3)) == R"("\u0000\u001f\u007f")");
    CHECK(json_string("caf\xC3\xA9 \xF0\x9F\x94\x91") == "\"caf\xC3\xA9 \xF0\x9F\x94\x91\"");
}

TEST_CASE("json strings: invalid UTF-8 becomes U+FFFD", "[json_text]") {
    CHECK(json_string("\xff") == R"("\ufffd")");
    CHECK(json_string("\xC3") == R"("\ufffd")");                     // truncated
    CHECK(json_string("\xC0\xAF") == R"("\ufffd\ufffd")");           // overlong
    CHECK(json_string("\xED\xA0\x80") == R"("\ufffd\ufffd\ufffd")"); // surrogate
    std::string all;
    for (int b = 0; b < 256; ++b)
        all += static_cast<char>(b);
    CHECK_NOTHROW(nlohmann::json::parse(json_string(all)));
}
