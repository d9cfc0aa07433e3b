#pragma once
// Builds the key set that requests are decided against: the key file, the environment's
// overrides of its settings, the environment's keys, all validated, then one immutable
// KeyStore. A failure leaves nothing half-built: the caller keeps its last good snapshot.
#include "core/config.hpp"
#include "core/diagnostics.hpp"
#include "core/environment_keys.hpp"
#include "core/key_store.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keygate {

/// Everything a key set is built from besides the file's content.
struct KeySetSources {
    std::string config_path = "keys.yaml";
    EnvironmentKeys environment_keys;
    std::optional<std::string> hash_pepper;                    ///< KEYGATE_HASH_PEPPER
    std::optional<Duration> grace_period_override;             ///< KEYGATE_GRACE_PERIOD
    std::optional<std::vector<Cidr>> trusted_proxies_override; ///< KEYGATE_TRUSTED_PROXIES
};

/// The outcome of one load.
struct KeySetLoad {
    std::shared_ptr<const KeyStore> store; ///< null when the load failed
    Diagnostics diagnostics;               ///< every problem (errors when failed, else warnings)

    /// True when a store was built.
    bool ok() const { return store != nullptr; }
};

/// Applies the environment's overrides to a loaded config's settings.
void apply_setting_overrides(Settings& settings, const KeySetSources& sources);

/// Loads `sources.config_path` at `now`, applies the overrides, appends the environment's
/// keys and builds the store (with the given automatic grace windows). Never throws.
/// Thread-safe (no shared state).
KeySetLoad load_key_set(const KeySetSources& sources, TimePoint now,
                        std::vector<GraceSecret> grace = {});

} // namespace keygate
