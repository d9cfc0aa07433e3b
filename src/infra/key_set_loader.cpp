// File + environment -> one validated KeyStore.
#include "infra/key_set_loader.hpp"

#include "core/config_loader.hpp"

namespace keygate {

void apply_setting_overrides(Settings& settings, const KeySetSources& sources) {
    if (sources.grace_period_override)
        settings.grace_period = *sources.grace_period_override;
    if (sources.trusted_proxies_override) {
        settings.trusted_proxies = *sources.trusted_proxies_override;
    }
}

KeySetLoad load_key_set(const KeySetSources& sources, TimePoint now,
                        std::vector<GraceSecret> grace) {
    KeySetLoad out;
    LoadOptions options;
    options.hash_pepper = sources.hash_pepper;
    options.now = now;
    LoadResult loaded = load_config_file(sources.config_path, options);
    out.diagnostics = std::move(loaded.diagnostics);
    if (!loaded.config || out.diagnostics.failed())
        return out;

    Config config = std::move(*loaded.config);
    apply_setting_overrides(config.settings, sources);
    Diagnostics environment = add_environment_keys(config, sources.environment_keys);
    out.diagnostics.items.insert(out.diagnostics.items.end(), environment.items.begin(),
                                 environment.items.end());
    if (environment.failed())
        return out;

    out.store = KeyStore::build(std::move(config), sources.hash_pepper, std::move(grace));
    return out;
}

} // namespace keygate
