// The env file layered under the process environment, then settings and environment keys.
#include "cli/cli_key_sources.hpp"

#include "infra/env_file.hpp"

#include <map>
#include <utility>

namespace keygate::cli {
namespace {

/// The process environment, falling back to the env file's entries: the same precedence
/// `serve` gets from apply_env_entries, without changing this process's environment.
EnvLookup layered_environment(std::map<std::string, std::string> file_entries) {
    return [process = process_environment(),
            file = std::move(file_entries)](const std::string& name) -> std::optional<std::string> {
        if (auto value = process(name))
            return value;
        const auto it = file.find(name);
        if (it == file.end())
            return std::nullopt;
        return it->second;
    };
}

} // namespace

Result<OfflineKeySources> offline_key_sources(std::optional<std::string> config,
                                              std::optional<std::string> env_file) {
    ServeFlags flags;
    flags.config = std::move(config);
    flags.env_file = std::move(env_file);
    std::map<std::string, std::string> file_entries;
    if (const auto path = env_file_path(flags, process_environment())) {
        const auto entries = read_env_file(*path);
        if (!entries)
            return fail(entries.error().message);
        for (const EnvFileEntry& entry : *entries)
            file_entries[entry.name] = entry.value;
    }
    OfflineKeySources out;
    out.env = layered_environment(std::move(file_entries));
    auto settings = resolve_serve_settings(flags, out.env);
    if (!settings)
        return fail(settings.error().message);
    const auto environment_keys = read_environment_keys(out.env);
    if (!environment_keys)
        return fail(environment_keys.error().message);
    out.settings = std::move(*settings);
    out.sources.config_path = out.settings.config_path;
    out.sources.environment_keys = *environment_keys;
    out.sources.hash_pepper = out.settings.hash_pepper;
    out.sources.grace_period_override = out.settings.grace_period;
    out.sources.trusted_proxies_override = out.settings.trusted_proxies;
    return out;
}

} // namespace keygate::cli
