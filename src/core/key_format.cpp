// keygate's key format {prefix}_{tenant}_{body}{check}: CRC-32, base62 and the generator.
#include "core/key_format.hpp"

#include <array>
#include <openssl/rand.h>

namespace keygate {

namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t k_body_length = 30;
constexpr std::size_t k_check_length = 6;
constexpr std::size_t k_max_prefix = 16;
constexpr std::size_t k_max_tenant = 64;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        std::uint32_t c = n;
        for (int k = 0; k < 8; ++k)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    return table;
}

constexpr auto k_crc_table = make_crc_table();

bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_base62(std::string_view text) {
    for (char c : text) {
        if (!is_alnum(c))
            return false;
    }
    return true;
}

bool valid_prefix(std::string_view prefix) {
    return !prefix.empty() && prefix.size() <= k_max_prefix && is_base62(prefix);
}

// Tenants may hold '_' (acme_corp): the format is read from the right, where the body and
// the check have a fixed length, so an '_' inside the tenant is not ambiguous.
bool valid_tenant(std::string_view tenant) {
    if (tenant.empty() || tenant.size() > k_max_tenant || !is_alnum(tenant.front()))
        return false;
    for (char c : tenant) {
        if (!is_alnum(c) && c != '_' && c != '-')
            return false;
    }
    return true;
}

std::string checksum(std::string_view signed_part) {
    return to_base62(crc32_ieee(signed_part), k_check_length);
}

} // namespace

std::uint32_t crc32_ieee(std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (char c : data) {
        crc = k_crc_table[(crc ^ static_cast<std::uint8_t>(c)) & 0xFFu] ^ (crc >> 8);
    }
    return crc ^ 0xFFFFFFFFu;
}

std::string to_base62(std::uint64_t value, std::size_t width) {
    std::string digits;
    do {
        digits.insert(digits.begin(), k_base62[value % 62]);
        value /= 62;
    } while (value != 0);
    if (digits.size() < width)
        digits.insert(0, width - digits.size(), '0');
    return digits;
}

Result<std::string> generate_key(std::string_view prefix, std::string_view tenant) {
    if (!valid_prefix(prefix))
        return fail("prefix must be 1-16 characters of [A-Za-z0-9]");
    if (!valid_tenant(tenant)) {
        return fail("tenant must be 1-64 characters of [A-Za-z0-9_-], starting with a letter "
                    "or digit");
    }
    std::string body;
    body.reserve(k_body_length);
    std::array<unsigned char, 64> random{};
    while (body.size() < k_body_length) {
        if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
            return fail("the random number generator failed");
        }
        for (unsigned char byte : random) {
            // 248 = 4 * 62: bytes at or above it are dropped so that every character is
            // equally likely (a plain `byte % 62` would favour the first 8 characters).
            if (byte >= 248)
                continue;
            body.push_back(k_base62[byte % 62]);
            if (body.size() == k_body_length)
                break;
        }
    }
    return assemble_key(prefix, tenant, body);
}

std::string assemble_key(std::string_view prefix, std::string_view tenant, std::string_view body) {
    std::string key;
    key.reserve(prefix.size() + tenant.size() + body.size() + 2 + k_check_length);
    key.append(prefix).append("_").append(tenant).append("_").append(body);
    key += checksum(key);
    return key;
}

KeyShape classify_key(std::string_view key) {
    constexpr std::size_t tail = k_body_length + k_check_length;
    // At least "p_t_" before the tail.
    if (key.size() < tail + 4)
        return KeyShape::other;
    const std::string_view body_and_check = key.substr(key.size() - tail);
    const std::string_view head = key.substr(0, key.size() - tail);
    if (head.back() != '_' || !is_base62(body_and_check))
        return KeyShape::other;
    const std::string_view prefix_and_tenant = head.substr(0, head.size() - 1);
    const std::size_t split = prefix_and_tenant.find('_');
    if (split == std::string_view::npos)
        return KeyShape::other;
    if (!valid_prefix(prefix_and_tenant.substr(0, split)) ||
        !valid_tenant(prefix_and_tenant.substr(split + 1))) {
        return KeyShape::other;
    }
    const std::string_view signed_part = key.substr(0, key.size() - k_check_length);
    return checksum(signed_part) == key.substr(key.size() - k_check_length)
               ? KeyShape::checksum_ok
               : KeyShape::checksum_bad;
}

} // namespace keygate
