// `keygate check --config PATH --key KEY|- ...`: the server's decision, offline, printed as
// the JSON object `/v1/authorize` answers.
#include "cli/cli_args.hpp"
#include "cli/cli_key_input.hpp"
#include "cli/commands.hpp"
#include "core/auth_request.hpp"
#include "core/decide.hpp"
#include "core/time.hpp"
#include "infra/decision_json.hpp"
#include "infra/env_file.hpp"
#include "infra/environment.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/serve_settings.hpp"

#include <algorithm>
#include <istream>
#include <map>
#include <ostream>

namespace keygate::cli {

namespace {

constexpr std::string_view k_usage =
    "keygate check --config PATH --key KEY|- [--dataset NAME] [--method M] [--path P] "
    "[--ip ADDR] [--permission PERM] [--at TIME] [--env-file PATH]";

/// The process environment, falling back to the env file's entries: the same precedence
/// `serve` gets from apply_env_entries, without changing this process's environment.
EnvLookup layered_environment(std::map<std::string, std::string> file_entries) {
    return [process = process_environment(),
            file = std::move(file_entries)](const std::string& name) -> std::optional<std::string> {
        if (auto value = process(name)) return value;
        const auto it = file.find(name);
        if (it == file.end()) return std::nullopt;
        return it->second;
    };
}

bool valid_method(const std::string& method) {
    return !method.empty() && method.size() <= 32 &&
           std::all_of(method.begin(), method.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
           });
}

std::string upper(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return text;
}

} // namespace

int run_check(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, {{"--config", true},
                                          {"--key", true},
                                          {"--dataset", true},
                                          {"--method", true},
                                          {"--path", true},
                                          {"--ip", true},
                                          {"--permission", true},
                                          {"--at", true},
                                          {"--env-file", true}});
    if (!parsed) return usage_error(err, "check", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n';
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, "check", "unexpected argument '" + parsed->positionals[0] + "'",
                           k_usage);
    }
    const auto config_path = parsed->value("--config");
    if (!config_path) return usage_error(err, "check", "--config is required", k_usage);
    const auto key_arg = parsed->value("--key");
    if (!key_arg) return usage_error(err, "check", "--key is required", k_usage);

    AuthRequest request;
    request.method = upper(parsed->value_or("--method", "GET"));
    if (!valid_method(request.method)) {
        return usage_error(err, "check", "--method must be an HTTP method such as GET or POST",
                           k_usage);
    }
    const std::string path = parsed->value_or("--path", "/");
    if (!path.starts_with('/')) {
        return usage_error(err, "check", "--path must start with '/'", k_usage);
    }
    OriginalUri uri = read_original_uri(path);
    const std::optional<std::string> query_key = uri.api_key;
    apply_original_uri(request, std::move(uri));
    request.header_dataset = parsed->value("--dataset");
    const auto ip = parse_ip(parsed->value_or("--ip", "127.0.0.1"));
    if (!ip) return usage_error(err, "check", "--ip must be an IPv4 or IPv6 address", k_usage);
    request.client_ip = *ip;
    request.permission = parsed->value("--permission");
    TimePoint now = now_ms();
    if (const auto at = parsed->value("--at")) {
        const auto parsed_at = parse_timestamp(*at);
        if (!parsed_at) {
            return usage_error(err, "check", "--at: " + parsed_at.error().message, k_usage);
        }
        now = *parsed_at;
    }

    // The key set is built exactly as `serve` builds it: env file, environment keys,
    // environment overrides, the same loader.
    ServeFlags flags;
    flags.config = *config_path;
    flags.env_file = parsed->value("--env-file");
    std::map<std::string, std::string> file_entries;
    if (const auto env_file = env_file_path(flags, process_environment())) {
        const auto entries = read_env_file(*env_file);
        if (!entries) return operation_failed(err, "check", entries.error().message);
        for (const EnvFileEntry& entry : *entries) file_entries[entry.name] = entry.value;
    }
    const EnvLookup env = layered_environment(std::move(file_entries));
    const auto settings = resolve_serve_settings(flags, env);
    if (!settings) return operation_failed(err, "check", settings.error().message);
    const auto environment_keys = read_environment_keys(env);
    if (!environment_keys) return operation_failed(err, "check", environment_keys.error().message);

    KeySetSources sources;
    sources.config_path = settings->config_path;
    sources.environment_keys = *environment_keys;
    sources.hash_pepper = settings->hash_pepper;
    sources.grace_period_override = settings->grace_period;
    sources.trusted_proxies_override = settings->trusted_proxies;
    const KeySetLoad load = load_key_set(sources, now);
    if (!load.ok()) {
        for (const Diagnostic& d : load.diagnostics.items) {
            err << format_diagnostic(*config_path, d) << '\n';
        }
        return operation_failed(err, "check", *config_path + " is not valid");
    }

    // The key as the server would select it: the header, plus ?api_key= when the file
    // allows query keys (two different ones conflict, as on the wire).
    const std::string presented = *key_arg == "-" ? read_presented_key(in) : *key_arg;
    PresentedCredentials credentials;
    credentials.header = presented;
    if (load.store->config().settings.allow_query_key && query_key) credentials.query = *query_key;
    const KeySelection selection = select_key(credentials);
    request.key = selection.key;
    request.conflicting_keys = selection.conflicting;

    const Decision decision = decide(*load.store, request, now);
    out << decision_json(decision).dump() << '\n';
    return decision.allowed() ? k_exit_ok : k_exit_failed;
}

} // namespace keygate::cli
