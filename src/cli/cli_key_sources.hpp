#pragma once
// The key set's sources as `serve` assembles them, for the offline commands (`check`,
// `report`): the env file (the process environment wins over it), the environment's keys
// and overrides, the settings. Nothing of this process's environment is changed.
#include "core/result.hpp"
#include "infra/environment.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/serve_settings.hpp"

#include <optional>
#include <string>

namespace keygate::cli {

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
