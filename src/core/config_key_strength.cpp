// The weak-key heuristic.
#include "core/config_key_strength.hpp"

#include <array>
#include <cmath>

namespace keygate {

std::optional<std::string> weak_key_reason(std::string_view key) {
    if (key.size() < k_min_key_length) {
        return "shorter than " + std::to_string(k_min_key_length) + " characters";
    }
    std::array<std::size_t, 256> counts{};
    for (const char c : key)
        ++counts[static_cast<unsigned char>(c)];
    const auto n = static_cast<double>(key.size());
    double bits_per_char = 0;
    for (const std::size_t count : counts) {
        if (count == 0)
            continue;
        const double p = static_cast<double>(count) / n;
        bits_per_char -= p * std::log2(p);
    }
    if (bits_per_char * n < k_min_key_bits)
        return std::string("too few distinct characters");
    return std::nullopt;
}

} // namespace keygate
