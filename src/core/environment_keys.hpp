#pragma once
// Keys that come from the environment (API_KEY_ADMIN, API_KEY_DEFAULT) rather than the file.
#include "core/config.hpp"
#include "core/diagnostics.hpp"

#include <optional>
#include <string>

namespace keygate {

/// The environment's keys, already read (including *_FILE variants).
struct EnvironmentKeys {
    std::optional<std::string> admin;       ///< API_KEY_ADMIN: id env-admin, role admin
    std::optional<std::string> default_key; ///< API_KEY_DEFAULT: id env-default
    std::string default_role = "analyst";   ///< KEYGATE_DEFAULT_ROLE
    std::string default_tenant = "default"; ///< KEYGATE_DEFAULT_TENANT
};

/// Appends the environment's keys to a validated config. A clash (same id or same secret
/// as a file key, unknown role) is an error diagnostic at 0:0.
Diagnostics add_environment_keys(Config& config, const EnvironmentKeys& keys);

} // namespace keygate
