#pragma once
// The key file's model (CONTRACT §3), after parsing and validation. Plain values, no YAML.
#include "core/digest.hpp"
#include "core/glob.hpp"
#include "core/ip_address.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keygate {

/// A rate-style alert threshold: `count` events within `window`.
struct BurstThreshold {
    std::uint64_t count = 20;
    Duration window = std::chrono::seconds(60);
};

/// Thresholds of the suspicious-activity rules (CONTRACT §7), with their defaults.
struct AlertSettings {
    BurstThreshold failed_auth_burst{20, std::chrono::seconds(60)};
    bool new_ip = true;
    double volume_spike_factor = 10.0;
    std::uint64_t volume_spike_min_per_minute = 100;
    bool unusual_dataset = true;
    bool key_expiring = true;        ///< an alert when a key enters its last 7 days
    bool rotated_secret_used = true; ///< an alert when a rotated-out secret is used in its grace
};

/// `settings:` of the key file; every field has a default.
struct Settings {
    std::string header = "X-API-Key";
    Duration grace_period{0};
    std::vector<Cidr> trusted_proxies; ///< default 127.0.0.1/32 and ::1/128 (set by the loader)
    bool allow_query_key = false;
    AlertSettings alerts;
    Duration reload_interval = std::chrono::seconds(30); ///< periodic re-check of the file
};

/// A role: the permissions it grants, in order, and whether it bypasses RLS.
struct Role {
    std::string name;
    std::vector<std::string> permissions;
    bool bypass_rls = false;
};

/// Per-tenant defaults.
struct Tenant {
    std::string name;
    std::optional<std::vector<std::string>> allowed_datasets;
    std::vector<std::string> denied_datasets;
    std::string description;
};

/// One `routes:` entry: the permission a matching request needs.
struct Route {
    RoutePattern pattern;
    std::vector<std::string> methods; ///< upper case; empty means any method
    std::string permission;
};

/// A `previous_keys` entry: an old secret honoured until `expires_at`.
struct PreviousSecret {
    SecretDigest secret;
    TimePoint expires_at;
};

/// One `api_keys:` entry.
struct KeyEntry {
    std::string id;
    SecretDigest secret;
    bool secret_was_plaintext = false; ///< written as `key:` rather than `key_hash:`
    std::optional<std::string> tenant;
    std::string role;
    std::string description;
    std::optional<std::vector<std::string>> allowed_datasets;
    std::vector<std::string> denied_datasets;
    std::optional<std::vector<std::string>> permissions;
    bool enabled = true;
    std::optional<TimePoint> not_before;
    std::optional<TimePoint> expires_at;
    std::optional<std::uint64_t> rate_limit;  ///< requests per minute
    std::optional<std::uint64_t> daily_limit; ///< requests per UTC day
    std::vector<Cidr> ip_allowlist;           ///< empty: any address
    std::vector<PreviousSecret> previous_keys;
    int line = 0; ///< 1-based line of the entry in the file (0: from the environment)
};

/// A whole validated configuration: the file plus the environment's keys.
struct Config {
    int version = 1;
    Settings settings;
    std::vector<Role> roles; ///< built-ins first (possibly redefined), then the file's own
    std::vector<Tenant> tenants;
    std::vector<Route> routes; ///< the file's own, in order (defaults are applied by decide)
    std::vector<KeyEntry> api_keys;

    /// The role named `name`, or nullptr.
    const Role* find_role(const std::string& name) const;
    /// The tenant named `name`, or nullptr.
    const Tenant* find_tenant(const std::string& name) const;
};

/// The built-in roles: admin [read, write, admin] bypassing RLS, analyst [read, write],
/// viewer [read].
std::vector<Role> builtin_roles();

/// The default trusted proxies: 127.0.0.1/32 and ::1/128.
std::vector<Cidr> default_trusted_proxies();

} // namespace keygate
