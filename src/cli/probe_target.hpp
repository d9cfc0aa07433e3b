#pragma once
// What `keygate probe --url URL` asks: an HTTP path on a TCP host:port or on a Unix socket.
#include "core/result.hpp"
#include "infra/serve_settings.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace keygate::cli {

/// The endpoint and path of one probe. Plain value type.
struct ProbeTarget {
    bool unix_socket = false; ///< true: `socket_path`; false: `host`:`port`
    std::string host;         ///< a name or a numeric address, without IPv6 brackets
    std::uint16_t port = 80;  ///< 80 when the URL names none
    std::string socket_path;  ///< absolute path of the socket (unix_socket only)
    std::string path = "/";   ///< the request target: starts with '/', query kept
    /// The Host header value: "host:port" (brackets around IPv6), "localhost" for a socket.
    std::string host_header() const;
};

/// Parses `http://HOST[:PORT][/PATH]` (HOST a name, an IPv4 address or `[IPv6]`) or
/// `unix:/SOCKET[:/PATH]`, the syntax of `--listen unix:/path` (the HTTP path after the last
/// ":/", "/" without one). No https, user info, fragment, or control characters and spaces
/// in the path: errors name what is wrong.
Result<ProbeTarget> parse_probe_url(std::string_view url);

/// `/readyz` of a keygate listening at `listen` (KEYGATE_LISTEN's syntax, see
/// parse_listen_address): an address of every interface (0.0.0.0, ::, ":PORT") is asked on
/// the loopback of its family; a Unix socket is asked on its path.
Result<ProbeTarget> readyz_target_of_listen(std::string_view listen);

} // namespace keygate::cli
