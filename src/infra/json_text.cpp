// JSON string escaping with UTF-8 validation.
#include "infra/json_text.hpp"

#include <cstdint>
#include <cstring>

namespace keygate {
namespace {

/// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not valid
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
    const std::uint8_t lead = byte(0);
    std::size_t length = 0;
    std::uint32_t min = 0;
    std::uint32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, min = 0x80, code = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, min = 0x800, code = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, min = 0x10000, code = lead & 0x07u;
    } else {
        return 0;
    }
    if (s.size() < length)
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xC0u) != 0x80u)
            return 0;
        code = (code << 6) | (byte(i) & 0x3Fu);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return length;
}

/// A byte copied as is: printable ASCII but the quote and the backslash.
constexpr bool is_plain(std::uint8_t c) {
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
constexpr std::uint64_t k_highs = 0x8080808080808080ULL;

/// Non-zero when one of the 8 bytes of `word` equals `byte` (exact: no false positive).
constexpr std::uint64_t has_byte(std::uint64_t word, std::uint8_t byte) {
    const std::uint64_t x = word ^ (k_ones * byte);
    return (x - k_ones) & ~x & k_highs;
}

/// True when all 8 bytes at `p` are plain (is_plain), tested at once: no byte below 0x20,
/// none with the high bit set or equal to 0x7F, no quote, no backslash.
bool plain_word(const char* p) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    const std::uint64_t control = (word - k_ones * 0x20) & ~word & k_highs; // a byte < 0x20
    return ((word & k_highs) | control | has_byte(word, 0x7F) | has_byte(word, '"') |
            has_byte(word, '\\')) == 0;
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
    static constexpr char k_hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        // A run of bytes that need no escape goes out in one append (most values are all
        // plain ASCII: ids, timestamps, paths).
        std::size_t plain_end = i;
        while (plain_end + 8 <= text.size() && plain_word(text.data() + plain_end))
            plain_end += 8; // eight plain bytes at a time, then the rest one by one
        while (plain_end < text.size() && is_plain(static_cast<std::uint8_t>(text[plain_end])))
            ++plain_end;
        if (plain_end > i) {
            out.append(text.data() + i, plain_end - i);
            i = plain_end;
            continue;
        }
        const auto c = static_cast<std::uint8_t>(text[i]);
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence_length(text.substr(i));
            if (length == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, length));
                i += length;
            }
            continue;
        }
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                out += "\\u00";
                out += k_hex[c >> 4];
                out += k_hex[c & 0x0F];
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
    out += '"';
}

std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_json_string(out, text);
    return out;
}

} // namespace keygate
