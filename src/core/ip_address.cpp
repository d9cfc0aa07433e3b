// IPv4/IPv6 parsing and CIDR containment, on top of inet_pton (pure: no I/O).
#include "core/ip_address.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace keygate {
namespace {

constexpr std::array<std::uint8_t, 12> k_v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

} // namespace

bool IpAddress::is_v4() const {
    return std::memcmp(bytes.data(), k_v4_mapped_prefix.data(), k_v4_mapped_prefix.size()) == 0;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    // inet_pton needs a NUL-terminated string; addresses are short.
    if (text.empty() || text.size() > 45)
        return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress ip;
    if (text.find(':') == std::string_view::npos) {
        std::uint8_t v4[4];
        if (inet_pton(AF_INET, buf, v4) != 1)
            return std::nullopt;
        std::memcpy(ip.bytes.data(), k_v4_mapped_prefix.data(), k_v4_mapped_prefix.size());
        std::memcpy(ip.bytes.data() + 12, v4, 4);
        return ip;
    }
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1)
        return std::nullopt;
    return ip;
}

std::string to_string(const IpAddress& ip) {
    char buf[INET6_ADDRSTRLEN];
    if (ip.is_v4()) {
        // Every audit line has one: the four numbers directly (inet_ntop's sprintf ~1.7k
        // instructions).
        std::string out;
        out.reserve(15);
        for (std::size_t i = 12; i < 16; ++i) {
            if (i > 12)
                out += '.';
            const unsigned octet = ip.bytes[i];
            if (octet >= 100)
                out += static_cast<char>('0' + octet / 100);
            if (octet >= 10)
                out += static_cast<char>('0' + octet / 10 % 10);
            out += static_cast<char>('0' + octet % 10);
        }
        return out;
    } else {
        inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
    }
    return buf;
}

bool Cidr::contains(const IpAddress& ip) const {
    const int full = prefix_bits / 8;
    if (std::memcmp(base.bytes.data(), ip.bytes.data(), static_cast<std::size_t>(full)) != 0) {
        return false;
    }
    const int rest = prefix_bits % 8;
    if (rest == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (base.bytes[static_cast<std::size_t>(full)] & mask) ==
           (ip.bytes[static_cast<std::size_t>(full)] & mask);
}

namespace {

/// `text` quoted for an error message, cut to its first 16 characters: a key pasted into an
/// address list must not be printed whole by validate, a reload error or /v1/status.
std::string quote_cut(std::string_view text) {
    constexpr std::size_t k_cut = 16;
    if (text.size() <= k_cut)
        return "'" + std::string(text) + "'";
    return "'" + std::string(text.substr(0, k_cut)) + "...'";
}

} // namespace

Result<Cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const std::string_view addr_text = text.substr(0, slash);
    const auto addr = parse_ip(addr_text);
    if (!addr)
        return fail(quote_cut(addr_text) + " is not an IP address");
    const bool v4 = addr_text.find(':') == std::string_view::npos;
    const int max_bits = v4 ? 32 : 128;
    int bits = max_bits;
    if (slash != std::string_view::npos) {
        const std::string_view bits_text = text.substr(slash + 1);
        if (bits_text.empty() || bits_text.size() > 3 ||
            (bits_text.size() > 1 && bits_text[0] == '0')) {
            return fail("bad prefix length in " + quote_cut(text));
        }
        bits = 0;
        for (const char c : bits_text) {
            if (c < '0' || c > '9')
                return fail("bad prefix length in " + quote_cut(text));
            bits = bits * 10 + (c - '0');
        }
        if (bits > max_bits) {
            return fail("prefix length /" + std::to_string(bits) + " is longer than " +
                        std::to_string(max_bits) + " bits in " + quote_cut(text));
        }
    }
    Cidr cidr{*addr, v4 ? bits + 96 : bits, std::string(text)};
    // Host bits below the prefix usually hide a typo ("10.0.0.1/8"): refuse them.
    IpAddress masked = *addr;
    for (int i = cidr.prefix_bits; i < 128; ++i) {
        masked.bytes[static_cast<std::size_t>(i / 8)] &=
            static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
    }
    if (!(masked == *addr)) {
        return fail(quote_cut(text) + " has host bits set (did you mean " + to_string(masked) +
                    "/" + std::to_string(bits) + "?)");
    }
    return cidr;
}

} // namespace keygate
