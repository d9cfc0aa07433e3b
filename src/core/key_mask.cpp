// Masking of presented keys (CONTRACT §7): keep the non-secret prefix, hide the rest.
#include "core/key_mask.hpp"

namespace keygate {

namespace {

constexpr std::size_t k_min_shown_length = 12;
constexpr std::size_t k_no_underscore_shown = 4;
// Fewer characters than this after the last '_' would give the secret (or most of it) away:
// "averylongsecret_" or "averylongsecret_x". Such a key is masked like one without '_'.
constexpr std::size_t k_min_hidden_after_underscore = 4;
constexpr std::string_view k_stars = "***";

// The kept prefix is copied into log lines: only printable ASCII survives, so that a
// crafted key cannot forge log lines, smuggle escape sequences or break UTF-8.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f)
            c = '?';
    }
    return out;
}

} // namespace

std::string mask_key(std::string_view key) {
    if (key.size() < k_min_shown_length)
        return std::string(k_stars);
    const std::size_t last = key.rfind('_');
    if (last != std::string_view::npos && key.size() - last - 1 >= k_min_hidden_after_underscore) {
        return printable(key.substr(0, last + 1)) + std::string(k_stars);
    }
    return printable(key.substr(0, k_no_underscore_shown)) + std::string(k_stars);
}

} // namespace keygate
