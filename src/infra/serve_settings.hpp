#pragma once
// What `keygate serve` runs with: each setting from its flag, else its environment
// variable, else the key file's `settings:` (applied later by the key set loader), else
// the default (CONTRACT §2, §4).
#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "infra/environment.hpp"
#include "infra/logging.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// A listen address: a host (name, IPv4 or IPv6 without brackets) and a port (0: any free),
/// or the path of a Unix domain socket.
struct ListenAddress {
    std::string host = "127.0.0.1";
    int port = 8090;
    /// Set: listen on this Unix socket (host and port unused).
    std::optional<std::string> unix_path;

    /// "HOST:PORT", "[v6]:PORT" for an IPv6 host, or "unix:PATH".
    std::string to_string() const;
};

/// Parses "HOST:PORT", "[V6]:PORT", ":PORT" (all interfaces, 0.0.0.0) or "unix:PATH" (a Unix
/// domain socket: any path but one of digits only, as "unix:8090" is host "unix", port 8090).
/// The port is decimal 0–65535.
Result<ListenAddress> parse_listen_address(std::string_view text);

/// Parses KEYGATE_TRUSTED_PROXIES: comma-separated CIDRs or addresses (blanks and empty
/// items ignored); the word "none" trusts no proxy.
Result<std::vector<Cidr>> parse_trusted_proxies(std::string_view text);

/// The serve flags as given on the command line.
struct ServeFlags {
    std::optional<std::string> config;
    std::optional<std::string> listen;
    std::optional<std::string> env_file;
    std::optional<std::string> grpc_listen;  ///< --grpc-listen
    std::optional<std::string> admin_listen; ///< --admin-listen
};

/// Everything `serve` needs besides the key file itself.
struct ServeSettings {
    std::string config_path = "keys.yaml";
    ListenAddress listen;
    /// --grpc-listen / KEYGATE_GRPC_LISTEN: where Envoy's gRPC external authorization
    /// (and grpc.health.v1) is served; unset: not served.
    std::optional<ListenAddress> grpc_listen;
    /// --admin-listen / KEYGATE_ADMIN_LISTEN: where /metrics and the admin API (with
    /// /healthz and /readyz) are served instead of on `listen`; unset: all on `listen`.
    std::optional<ListenAddress> admin_listen;
    std::optional<Duration> grace_period;             ///< KEYGATE_GRACE_PERIOD
    std::optional<std::vector<Cidr>> trusted_proxies; ///< KEYGATE_TRUSTED_PROXIES
    std::optional<std::string> hash_pepper;           ///< KEYGATE_HASH_PEPPER
    /// KEYGATE_KEEPALIVE_TIMEOUT: how long an idle client connection is kept (default 75s,
    /// longer than nginx's upstream keepalive_timeout of 60s).
    std::optional<Duration> keep_alive_timeout;
    /// KEYGATE_READ_TIMEOUT: a request's head must arrive whole this long after its first
    /// byte, its body as long again (default 5s); else the connection is closed.
    std::optional<Duration> read_timeout;
    /// KEYGATE_SHUTDOWN_DELAY: after SIGTERM/SIGINT, how long /readyz answers 503 while
    /// requests are still served, before the listener stops accepting (CONTRACT §10).
    Duration shutdown_delay{0};
    LogSettings log; ///< KEYGATE_LOG_LEVEL / _FORMAT
};

/// The env file to read: --env-file, else KEYGATE_ENV_FILE, else none.
std::optional<std::string> env_file_path(const ServeFlags& flags, const EnvLookup& env);

/// Resolves every setting (flag > environment > default). Errors name the flag or
/// variable; they are usage errors of `serve`.
Result<ServeSettings> resolve_serve_settings(const ServeFlags& flags, const EnvLookup& env);

} // namespace keygate
