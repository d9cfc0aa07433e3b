#pragma once
// IPv4/IPv6 addresses and CIDR ranges for ip_allowlist and trusted_proxies.
#include "core/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// An IP address. IPv4 addresses are held in their IPv4-mapped IPv6 form
/// (::ffff:a.b.c.d) so that "10.0.0.1" and "::ffff:10.0.0.1" are the same address.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};

    /// True for an IPv4 (or IPv4-mapped IPv6) address.
    bool is_v4() const;
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

/// Parses a dotted IPv4 or an IPv6 address (no port, no brackets, no zone);
/// nullopt when the text is not exactly an address.
std::optional<IpAddress> parse_ip(std::string_view text);

/// Dotted form for IPv4 and IPv4-mapped addresses, RFC 5952 form for IPv6.
std::string to_string(const IpAddress& ip);

/// A CIDR range. An IPv4 range is stored as the mapped range (prefix + 96).
struct Cidr {
    IpAddress base;
    int prefix_bits = 128; ///< over the 128-bit form
    std::string text;      ///< as written in the file

    /// True when `ip` lies in the range. Thread-safe (immutable).
    bool contains(const IpAddress& ip) const;
};

/// Parses "10.0.0.0/8", "::1/128" or a bare address (a /32 or /128). Host bits set
/// below the prefix are an error ("10.0.0.1/8"), since they usually hide a typo.
Result<Cidr> parse_cidr(std::string_view text);

} // namespace keygate
