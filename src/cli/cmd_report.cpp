// `keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d]
// [--format text|json] [--at TIME] [--env-file PATH]`: key hygiene, offline, from the key file
// and the state directory a `keygate serve` writes (KEYGATE_STATE_DIR). The JSON is the one
// GET /v1/report answers.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_key_sources.hpp"
#include "cli/commands.hpp"
#include "core/config_loader.hpp"
#include "core/grace.hpp"
#include "infra/environment.hpp"
#include "infra/key_report.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/state_store.hpp"

#include <filesystem>
#include <ostream>

namespace keygate::cli {
namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--config",
     .takes_value = true,
     .value_name = "PATH",
     .help = "the key file, loaded as serve loads it",
     .default_value = "keys.yaml",
     .env = "KEYGATE_CONFIG"},
    {.name = "--state-dir",
     .takes_value = true,
     .value_name = "DIR",
     .help = "where keygate serve writes state.json (usage, grace windows)",
     .default_value = "none: usage unknown",
     .env = "KEYGATE_STATE_DIR"},
    {.name = "--expiring",
     .takes_value = true,
     .value_name = "DURATION",
     .help = "report keys whose expires_at falls within this window",
     .default_value = "30d"},
    {.name = "--unused",
     .takes_value = true,
     .value_name = "DURATION",
     .help = "report keys with no decision for this long",
     .default_value = "30d"},
    {.name = "--format",
     .takes_value = true,
     .value_name = "text|json",
     .help = "text: sections for a person; json: the object GET /v1/report answers",
     .default_value = "text"},
    {.name = "--at",
     .takes_value = true,
     .value_name = "TIME",
     .help = "report as of this RFC 3339 time",
     .default_value = "now"},
    k_env_file_option,
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "the report was printed"},
    {1, "the key file does not load, or the state directory has no or a corrupt state.json"},
    {2, "usage error"},
};

constexpr CommandSpec k_command{
    .name = "report",
    .synopsis = "keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d] "
                "[--format text|json] [--at TIME] [--env-file PATH]",
    .summary = "Key hygiene, offline: keys expiring soon, keys unused for a while, rotated-out\n"
               "secrets (previous_keys, grace windows) still in use, keys without a rate limit.\n"
               "Only keys that still work are reported. Never shows a secret or a hash.",
    .options = k_options,
    .environment = k_key_source_environment,
    .exit_codes = k_exit_codes,
};

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

const CommandSpec& report_command() {
    return k_command;
}

int run_report(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(err, k_command, parsed.error().message);
    if (parsed->help) {
        out << help_text(k_command);
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, k_command, "unexpected argument '" + parsed->positionals[0] + "'");
    }
    const std::string format = *value_or_default(*parsed, k_command, "--format");
    if (format != "text" && format != "json")
        return usage_error(err, k_command, "--format must be text or json");
    // The windows, read as GET /v1/report reads its query.
    std::string query;
    for (const char* name : {"expiring", "unused"}) {
        if (const auto value = parsed->value(std::string("--") + name))
            query += std::string(query.empty() ? "" : "&") + name + "=" + *value;
    }
    const auto windows = parse_report_query(query);
    if (!windows)
        return usage_error(err, k_command, "--" + windows.error().message);
    TimePoint now = now_ms();
    if (const auto at = parsed->value("--at")) {
        const auto parsed_at = parse_timestamp(*at);
        if (!parsed_at)
            return usage_error(err, k_command, "--at: " + parsed_at.error().message);
        now = *parsed_at;
    }

    // The key set is built as `serve` builds it: env file, environment keys and overrides.
    const auto offline =
        offline_key_sources(parsed->value("--config"), parsed->value("--env-file"));
    if (!offline)
        return operation_failed(err, "report", offline.error().message);
    const KeySetSources& sources = offline->sources;
    const EnvLookup& env = offline->env;

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
