// Resolution of the serve settings.
#include "infra/serve_settings.hpp"

#include <charconv>

namespace keygate {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

Result<int> parse_port(std::string_view text) {
    int port = -1;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, port);
    if (text.empty() || ec != std::errc{} || ptr != end || port < 0 || port > 65535 ||
        text.front() == '+') {
        return fail("invalid port '" + std::string(text) + "' (expected 0-65535)");
    }
    return port;
}

/// A listener that is off unless set: the flag, else the variable (empty: unset), else none.
/// An error names the flag or the variable the bad value came from.
Result<std::optional<ListenAddress>> optional_listen_address(const std::optional<std::string>& flag,
                                                             std::string_view flag_name,
                                                             const EnvLookup& env,
                                                             const char* variable) {
    std::string_view source = flag_name;
    std::optional<std::string> text = flag;
    if (!text) {
        text = env_value(env, variable);
        source = variable;
        if (!text || text->empty())
            return std::optional<ListenAddress>{};
    }
    auto listen = parse_listen_address(*text);
    if (!listen)
        return fail(std::string(source) + ": " + listen.error().message);
    return std::optional<ListenAddress>(std::move(*listen));
}

} // namespace

std::string ListenAddress::to_string() const {
    if (unix_path)
        return "unix:" + *unix_path;
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
    const std::string shown(text);
    ListenAddress address;
    // "unix:8090" stays what it always was: a host named "unix", port 8090.
    if (text.starts_with("unix:") &&
        (text.size() == 5 || text.find_first_not_of("0123456789", 5) != std::string_view::npos)) {
        const std::string_view path = text.substr(5);
        if (path.empty())
            return fail("invalid listen address '" + shown + "' (expected unix:/PATH)");
        address.unix_path = std::string(path);
        return address;
    }
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail("invalid listen address '" + shown + "' (expected [IPV6]:PORT)");
        }
        address.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
        if (!parse_ip(address.host) || address.host.find(':') == std::string::npos) {
            return fail("invalid listen address '" + shown + "': not an IPv6 address");
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return fail("invalid listen address '" + shown + "' (expected HOST:PORT)");
        }
        address.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (address.host.find(':') != std::string::npos) {
            return fail("invalid listen address '" + shown +
                        "': write an IPv6 host in brackets, as [::1]:8090");
        }
        if (address.host.empty())
            address.host = "0.0.0.0";
    }
    auto port = parse_port(port_text);
    if (!port)
        return fail("invalid listen address '" + shown + "': " + port.error().message);
    address.port = *port;
    return address;
}

Result<std::vector<Cidr>> parse_trusted_proxies(std::string_view text) {
    std::vector<Cidr> proxies;
    if (trim(text) == "none")
        return proxies;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (item.empty())
            continue;
        auto cidr = parse_cidr(item);
        if (!cidr)
            return fail("'" + std::string(item) + "': " + cidr.error().message);
        proxies.push_back(std::move(*cidr));
    }
    return proxies;
}

std::optional<std::string> env_file_path(const ServeFlags& flags, const EnvLookup& env) {
    if (flags.env_file)
        return flags.env_file;
    return env_value(env, "KEYGATE_ENV_FILE");
}

Result<ServeSettings> resolve_serve_settings(const ServeFlags& flags, const EnvLookup& env) {
    ServeSettings settings;
    if (auto config = flags.config ? flags.config : env_value(env, "KEYGATE_CONFIG")) {
        settings.config_path = std::move(*config);
    }
    if (flags.listen) {
        auto listen = parse_listen_address(*flags.listen);
        if (!listen)
            return fail("--listen: " + listen.error().message);
        settings.listen = std::move(*listen);
    } else if (auto text = env_value(env, "KEYGATE_LISTEN")) {
        auto listen = parse_listen_address(*text);
        if (!listen)
            return fail("KEYGATE_LISTEN: " + listen.error().message);
        settings.listen = std::move(*listen);
    }
    auto grpc_listen =
        optional_listen_address(flags.grpc_listen, "--grpc-listen", env, "KEYGATE_GRPC_LISTEN");
    if (!grpc_listen)
        return Unexpected(grpc_listen.error());
    settings.grpc_listen = std::move(*grpc_listen);
    auto admin_listen =
        optional_listen_address(flags.admin_listen, "--admin-listen", env, "KEYGATE_ADMIN_LISTEN");
    if (!admin_listen)
        return Unexpected(admin_listen.error());
    settings.admin_listen = std::move(*admin_listen);
    if (auto text = env_value(env, "KEYGATE_GRACE_PERIOD")) {
        auto grace = parse_duration(*text);
        if (!grace)
            return fail("KEYGATE_GRACE_PERIOD: " + grace.error().message);
        settings.grace_period = *grace;
    }
    if (auto text = env_value(env, "KEYGATE_TRUSTED_PROXIES")) {
        auto proxies = parse_trusted_proxies(*text);
        if (!proxies)
            return fail("KEYGATE_TRUSTED_PROXIES: " + proxies.error().message);
        settings.trusted_proxies = std::move(*proxies);
    }
    if (auto text = env_value(env, "KEYGATE_KEEPALIVE_TIMEOUT")) {
        auto timeout = parse_duration(*text);
        if (!timeout || *timeout < std::chrono::seconds(1)) {
            return fail("KEYGATE_KEEPALIVE_TIMEOUT: " +
                        (timeout ? std::string("must be at least 1s") : timeout.error().message));
        }
        settings.keep_alive_timeout = *timeout;
    }
    if (auto text = env_value(env, "KEYGATE_READ_TIMEOUT")) {
        auto timeout = parse_duration(*text);
        if (!timeout || *timeout < std::chrono::milliseconds(100)) {
            return fail("KEYGATE_READ_TIMEOUT: " + (timeout ? std::string("must be at least 100ms")
                                                            : timeout.error().message));
        }
        settings.read_timeout = *timeout;
    }
    if (auto text = env_value(env, "KEYGATE_SHUTDOWN_DELAY")) {
        auto delay = parse_duration(*text);
        if (!delay)
            return fail("KEYGATE_SHUTDOWN_DELAY: " + delay.error().message);
        settings.shutdown_delay = *delay;
    }
    settings.hash_pepper = env_value(env, "KEYGATE_HASH_PEPPER");
    auto log = parse_log_settings(env_value(env, "KEYGATE_LOG_LEVEL"),
                                  env_value(env, "KEYGATE_LOG_FORMAT"));
    if (!log)
        return Unexpected(log.error());
    settings.log = *log;
    return settings;
}

} // namespace keygate
