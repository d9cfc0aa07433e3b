#pragma once
// The key set's sources as `serve` assembles them, for the offline commands (`check`,
// `report`): the env file (the process environment wins over it), the environment's keys
// and overrides, the settings. Nothing of this process's environment is changed.
#include "cli/cli_args.hpp"
#include "core/result.hpp"
#include "infra/environment.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/serve_settings.hpp"

#include <optional>
#include <string>

namespace keygate::cli {

/// The `--env-file PATH` option of the offline commands, for their option tables.
inline constexpr OptionSpec k_env_file_option{
    .name = "--env-file",
    .takes_value = true,
    .value_name = "PATH",
    .help = "an env file (the process environment wins over it)",
    .default_value = "none",
    .env = "KEYGATE_ENV_FILE"};

/// The variables offline_key_sources() reads besides the options, for the help pages.
inline constexpr EnvironmentSpec k_key_source_environment[] = {
    {"API_KEY_ADMIN, API_KEY_DEFAULT", "", "keys from the environment, as serve adds them"},
    {"API_KEY_ADMIN_FILE, API_KEY_DEFAULT_FILE", "", "the same, read from a file"},
    {"KEYGATE_DEFAULT_ROLE, KEYGATE_DEFAULT_TENANT", "", "role and tenant of API_KEY_DEFAULT"},
    {"KEYGATE_HASH_PEPPER", "", "the secret of hmac-sha256: hashes"},
    {"KEYGATE_GRACE_PERIOD", "", "overrides settings.grace_period"},
    {"KEYGATE_TRUSTED_PROXIES", "", "overrides settings.trusted_proxies"},
};

/// What an offline command needs to load the key set `serve` would load.
struct OfflineKeySources {
    EnvLookup env;          ///< the process environment over the env file's entries
    ServeSettings settings; ///< resolved as serve resolves them
    KeySetSources sources;  ///< for load_key_set()
};

/// Reads the env file (`env_file`, else KEYGATE_ENV_FILE) and resolves settings and
/// environment keys for the key file `config` (else KEYGATE_CONFIG, else keys.yaml).
/// Errors are messages for operation_failed().
Result<OfflineKeySources> offline_key_sources(std::optional<std::string> config,
                                              std::optional<std::string> env_file);

} // namespace keygate::cli
