#pragma once
// Case-insensitive ASCII comparison of header names and tokens, without locale calls, and
// word-at-a-time byte tests for the scans that run over every request and answer.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace keygate {

/// A byte-class table: true for ASCII letters, digits and each byte of `extra` (the
/// character classes of the RFCs, looked up once per byte on every request).
constexpr std::array<bool, 256> alnum_and(std::string_view extra) {
    std::array<bool, 256> table{};
    for (int c = 'a'; c <= 'z'; ++c)
        table[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        table[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c)
        table[static_cast<std::size_t>(c)] = true;
    for (const char c : extra)
        table[static_cast<unsigned char>(c)] = true;
    return table;
}

/// `c` in lower case when it is an ASCII upper-case letter.
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Case-insensitive equality of ASCII text.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

inline constexpr std::uint64_t k_byte_ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t k_byte_highs = 0x8080808080808080ULL;

/// The 8 bytes at `p` as one word (any alignment).
inline std::uint64_t load_word(const char* p) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    return word;
}

/// Non-zero when one of the 8 bytes of `word` equals `byte` (exact: no false positive).
constexpr std::uint64_t word_has_byte(std::uint64_t word, unsigned char byte) {
    const std::uint64_t x = word ^ (k_byte_ones * byte);
    return (x - k_byte_ones) & ~x & k_byte_highs;
}

/// Non-zero when one of the 8 bytes of `word` is below `limit` (exact; `limit` <= 128).
constexpr std::uint64_t word_has_less(std::uint64_t word, unsigned char limit) {
    return (word - k_byte_ones * limit) & ~word & k_byte_highs;
}

} // namespace keygate
