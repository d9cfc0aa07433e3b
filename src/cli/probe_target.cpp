// `keygate probe --url`: URL parsing.
#include "cli/probe_target.hpp"

#include <algorithm>
#include <charconv>

namespace keygate::cli {

namespace {

bool printable_without_space(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

bool valid_host_name(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == '_';
    });
}

Result<std::string> checked_path(std::string_view path) {
    if (path.empty())
        return std::string("/");
    if (path.front() != '/')
        return fail("the path must start with '/'");
    if (!printable_without_space(path)) {
        return fail("the path holds a space or a control character");
    }
    if (path.find('#') != std::string_view::npos)
        return fail("a fragment ('#') is not sent");
    return std::string(path);
}

Result<ProbeTarget> parse_unix(std::string_view rest) {
    ProbeTarget target;
    target.unix_socket = true;
    const std::size_t split = rest.rfind(":/");
    std::string_view socket = split == std::string_view::npos ? rest : rest.substr(0, split);
    std::string_view path = split == std::string_view::npos ? "" : rest.substr(split + 1);
    if (socket.empty() || socket.front() != '/') {
        return fail("a unix: URL needs an absolute socket path (unix:/run/keygate/keygate.sock)");
    }
    if (!printable_without_space(socket)) {
        return fail("the socket path holds a space or a control character");
    }
    auto checked = checked_path(path);
    if (!checked)
        return fail(checked.error().message);
    target.socket_path = std::string(socket);
    target.path = std::move(*checked);
    return target;
}

Result<ProbeTarget> parse_http(std::string_view rest) {
    ProbeTarget target;
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    auto path = checked_path(slash == std::string_view::npos ? "" : rest.substr(slash));
    if (!path)
        return fail(path.error().message);
    target.path = std::move(*path);
    if (authority.find('@') != std::string_view::npos)
        return fail("user info is not supported");
    std::string_view port_text;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return fail("an IPv6 address misses its ']'");
        target.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':'))
            return fail("junk after the IPv6 address");
        if (!after.empty())
            port_text = after.substr(1);
        const bool hex =
            !target.host.empty() && std::all_of(target.host.begin(), target.host.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                       c == ':' || c == '.';
            });
        if (!hex)
            return fail("not an IPv6 address inside '[ ]'");
    } else {
        const std::size_t colon = authority.rfind(':');
        target.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = authority.substr(colon + 1);
        if (!valid_host_name(target.host))
            return fail("the URL needs a host (http://HOST:PORT/PATH)");
    }
    if (!port_text.empty() || authority.ends_with(':')) {
        unsigned value = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            return fail("the port must be a number from 1 to 65535");
        }
        target.port = static_cast<std::uint16_t>(value);
    }
    return target;
}

} // namespace

std::string ProbeTarget::host_header() const {
    if (unix_socket)
        return "localhost";
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ProbeTarget> parse_probe_url(std::string_view url) {
    if (url.starts_with("http://"))
        return parse_http(url.substr(7));
    if (url.starts_with("unix:"))
        return parse_unix(url.substr(5));
    if (url.starts_with("https://"))
        return fail("https is not supported (keygate serves plain HTTP)");
    return fail("the URL must start with http:// or unix:");
}

Result<ProbeTarget> readyz_target_of_listen(std::string_view listen) {
    const auto address = parse_listen_address(listen);
    if (!address)
        return fail(address.error().message);
    ProbeTarget target;
    target.path = "/readyz";
    if (address->unix_path) {
        target.unix_socket = true;
        target.socket_path = *address->unix_path;
        return target;
    }
    if (address->port == 0)
        return fail("port 0 (a free port chosen at start) cannot be probed: give --url");
    target.port = static_cast<std::uint16_t>(address->port);
    target.host = address->host;
    if (target.host.empty() || target.host == "0.0.0.0")
        target.host = "127.0.0.1";
    else if (target.host == "::")
        target.host = "::1";
    return target;
}

} // namespace keygate::cli
