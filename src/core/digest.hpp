#pragma once
// SHA-256 and HMAC-SHA256 digests of presented keys (OpenSSL). Keys are looked up by
// digest, never by comparing plaintext.
#include "core/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace keygate {

/// A 32-byte digest.
using Digest = std::array<std::uint8_t, 32>;

/// How a stored secret was hashed.
enum class HashKind { sha256, hmac_sha256 };

/// A stored secret: the digest of a key and how it was made.
struct SecretDigest {
    HashKind kind = HashKind::sha256;
    Digest digest{};
    friend bool operator==(const SecretDigest&, const SecretDigest&) = default;
};

/// SHA-256 of the bytes.
Digest sha256(std::string_view data);

/// HMAC-SHA256 of the bytes keyed by `pepper`.
Digest hmac_sha256(std::string_view pepper, std::string_view data);

/// Lowercase hex of a digest.
std::string to_hex(const Digest& d);

/// "sha256:<hex>" or "hmac-sha256:<hex>".
std::string format_secret(const SecretDigest& s);

/// Parses "sha256:<64 lowercase hex>" or "hmac-sha256:<64 lowercase hex>".
Result<SecretDigest> parse_secret(std::string_view text);

/// Hash functor for digests (their bytes are already uniform).
struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
};

} // namespace keygate
