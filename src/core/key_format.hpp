#pragma once
// keygate's generated key format: {prefix}_{tenant}_{30 base62}{6 base62 CRC-32}.
#include "core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace keygate {

/// CRC-32 (IEEE 802.3, as zlib) of the bytes.
std::uint32_t crc32_ieee(std::string_view data);

/// `value` in base62 (0-9A-Za-z), left-padded with '0' to `width`.
std::string to_base62(std::uint64_t value, std::size_t width);

/// Builds a key from its parts with a body of 30 base62 characters from OpenSSL's CSPRNG.
Result<std::string> generate_key(std::string_view prefix, std::string_view tenant);

/// Builds the key for a given body (exposed for tests): prefix_tenant_body + checksum.
std::string assemble_key(std::string_view prefix, std::string_view tenant, std::string_view body);

/// How a presented key looks.
enum class KeyShape {
    other,        ///< not in keygate's generated format: looked up as is
    checksum_ok,  ///< keygate format with a matching checksum
    checksum_bad, ///< keygate format, but the checksum does not match: a typo
};

/// Classifies a presented key without any lookup.
KeyShape classify_key(std::string_view key);

} // namespace keygate
