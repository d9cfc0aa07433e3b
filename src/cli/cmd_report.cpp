// `keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d]
// [--format text|json] [--at TIME] [--env-file PATH]`: key hygiene, offline, from the key file
// and the state directory a `keygate serve` writes (KEYGATE_STATE_DIR). The JSON is the one
// GET /v1/report answers.
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "core/config_loader.hpp"
#include "core/grace.hpp"
#include "infra/env_file.hpp"
#include "infra/environment.hpp"
#include "infra/key_report.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/serve_settings.hpp"
#include "infra/state_store.hpp"

#include <filesystem>
#include <map>
#include <ostream>

namespace keygate::cli {
namespace {

constexpr std::string_view k_usage =
    "keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d] "
    "[--format text|json] [--at TIME] [--env-file PATH]";

/// The process environment, falling back to the env file's entries (the precedence `serve`
/// applies), without changing this process's environment.
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

/// The automatic grace windows of the state file that still apply to the key file, as
/// `serve` restores them at start (ConfigReloader::load_initial).
std::vector<GraceSecret> open_grace_windows(const std::vector<GraceSecret>& restored,
                                            const KeySetSources& sources, TimePoint now) {
    if (restored.empty())
        return {};
    const auto carrier = KeyStore::build(Config{}, std::nullopt, restored);
    LoadOptions options;
    options.hash_pepper = sources.hash_pepper;
    options.now = now;
    const LoadResult parsed = load_config_file(sources.config_path, options);
    if (!parsed.config)
        return {};
    return grace_windows_for(*carrier, *parsed.config, Duration{0}, now);
}

} // namespace

int run_report(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, {{"--config", true},
                                          {"--state-dir", true},
                                          {"--expiring", true},
                                          {"--unused", true},
                                          {"--format", true},
                                          {"--at", true},
                                          {"--env-file", true}});
    if (!parsed)
        return usage_error(err, "report", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n';
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, "report", "unexpected argument '" + parsed->positionals[0] + "'",
                           k_usage);
    }
    const std::string format = parsed->value_or("--format", "text");
    if (format != "text" && format != "json")
        return usage_error(err, "report", "--format must be text or json", k_usage);
    // The windows, read as GET /v1/report reads its query.
    std::string query;
    for (const char* name : {"expiring", "unused"}) {
        if (const auto value = parsed->value(std::string("--") + name))
            query += std::string(query.empty() ? "" : "&") + name + "=" + *value;
    }
    const auto windows = parse_report_query(query);
    if (!windows)
        return usage_error(err, "report", "--" + windows.error().message, k_usage);
    TimePoint now = now_ms();
    if (const auto at = parsed->value("--at")) {
        const auto parsed_at = parse_timestamp(*at);
        if (!parsed_at)
            return usage_error(err, "report", "--at: " + parsed_at.error().message, k_usage);
        now = *parsed_at;
    }

    // The key set is built as `serve` builds it: env file, environment keys and overrides.
    ServeFlags flags;
    flags.config = parsed->value("--config");
    flags.env_file = parsed->value("--env-file");
    std::map<std::string, std::string> file_entries;
    if (const auto env_file = env_file_path(flags, process_environment())) {
        const auto entries = read_env_file(*env_file);
        if (!entries)
            return operation_failed(err, "report", entries.error().message);
        for (const EnvFileEntry& entry : *entries)
            file_entries[entry.name] = entry.value;
    }
    const EnvLookup env = layered_environment(std::move(file_entries));
    const auto settings = resolve_serve_settings(flags, env);
    if (!settings)
        return operation_failed(err, "report", settings.error().message);
    const auto environment_keys = read_environment_keys(env);
    if (!environment_keys)
        return operation_failed(err, "report", environment_keys.error().message);
    KeySetSources sources;
    sources.config_path = settings->config_path;
    sources.environment_keys = *environment_keys;
    sources.hash_pepper = settings->hash_pepper;
    sources.grace_period_override = settings->grace_period;
    sources.trusted_proxies_override = settings->trusted_proxies;

    // The usage state: --state-dir, else KEYGATE_STATE_DIR; none: usage is unknown.
    std::optional<std::string> state_dir = parsed->value("--state-dir");
    if (!state_dir)
        state_dir = env_value(env, "KEYGATE_STATE_DIR");
    PersistentState state;
    if (state_dir) {
        const StateStore store(*state_dir);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(store.file_path(), ec)) {
            return operation_failed(err, "report",
                                    "no state file '" + store.file_path() +
                                        "' (keygate serve with KEYGATE_STATE_DIR writes it)");
        }
        std::string error;
        if (!store.load(state, error))
            return operation_failed(err, "report", error);
    }

    const KeySetLoad load =
        load_key_set(sources, now, open_grace_windows(state.grace, sources, now));
    if (!load.ok()) {
        for (const Diagnostic& d : load.diagnostics.items)
            err << format_diagnostic(sources.config_path, d) << '\n';
        return operation_failed(err, "report", sources.config_path + " is not valid");
    }
    const KeyReport report =
        build_key_report(*load.store, state_dir ? &state.usage : nullptr, now, *windows);
    if (format == "json") {
        out << key_report_json(report).dump(-1, ' ', false,
                                            nlohmann::ordered_json::error_handler_t::replace)
            << '\n';
    } else {
        out << key_report_text(report, sources.config_path);
    }
    return k_exit_ok;
}

} // namespace keygate::cli
