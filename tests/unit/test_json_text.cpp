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

TEST_CASE("json strings: long plain runs are copied whole, an escape anywhere is found",
          "[json_text]") {
    // Plain runs are tested eight bytes at a time: each special byte in each position.
    const std::string plain = "0123456789abcdefghijABCDEFGHIJ-_./~";
    CHECK(json_string(plain) == "\"" + plain + "\"");
    const std::vector<std::pair<char, std::string>> specials = {
        {'"', "\\\""},       {'\\', "\\\\"},      {'\n', "\\n"},      {'\x01', "\\u0001"},
        {'\x1f', "\\u001f"}, {'\x7f', "\\u007f"}, {'\xff', "\\ufffd"}};
    for (std::size_t at = 0; at < 20; ++at) {
        for (const auto& [byte, escaped] : specials) {
            std::string text(20, 'x');
            text[at] = byte;
            INFO("position " << at << ", byte " << static_cast<int>(byte));
            CHECK(json_string(text) ==
                  "\"" + std::string(at, 'x') + escaped + std::string(19 - at, 'x') + "\"");
        }
    }
}
