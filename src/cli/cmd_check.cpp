// `keygate check --config PATH --key KEY|- ...`: the server's decision, offline, printed as
// the JSON object `/v1/authorize` answers.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_key_input.hpp"
#include "cli/cli_key_sources.hpp"
#include "cli/commands.hpp"
#include "core/auth_request.hpp"
#include "core/decide.hpp"
#include "core/time.hpp"
#include "infra/decision_json.hpp"
#include "infra/key_set_loader.hpp"

#include <algorithm>
#include <istream>
#include <ostream>

namespace keygate::cli {

namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--config",
     .takes_value = true,
     .value_name = "PATH",
     .help = "the key file, loaded as serve loads it",
     .required = true},
    {.name = "--key",
     .takes_value = true,
     .value_name = "KEY|-",
     .help = "the key to check; - reads it on stdin (keeps it out of ps and the history)",
     .required = true},
    {.name = "--dataset",
     .takes_value = true,
     .value_name = "NAME",
     .help = "the dataset asked for, as the X-Dataset header",
     .default_value = "none"},
    {.name = "--method",
     .takes_value = true,
     .value_name = "M",
     .help = "the request's method (upper-cased)",
     .default_value = "GET"},
    {.name = "--path",
     .takes_value = true,
     .value_name = "P",
     .help = "the request's path and query (dataset=, api_key= as on the wire)",
     .default_value = "/"},
    {.name = "--ip",
     .takes_value = true,
     .value_name = "ADDR",
     .help = "the client's IPv4 or IPv6 address",
     .default_value = "127.0.0.1"},
    {.name = "--permission",
     .takes_value = true,
     .value_name = "PERM",
     .help = "the permission needed, overriding the route's (as /v1/authorize's field)",
     .default_value = "the route's"},
    {.name = "--at",
     .takes_value = true,
     .value_name = "TIME",
     .help = "decide at this RFC 3339 time (expiry, not_before, grace)",
     .default_value = "now"},
    k_env_file_option,
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "allowed"},
    {1, "denied (the JSON still goes to stdout), or the key file does not load"},
    {2, "usage error"},
};

constexpr CommandSpec k_command{
    .name = "check",
    .synopsis = "keygate check --config PATH --key KEY|- [--dataset NAME] [--method M] [--path P] "
                "[--ip ADDR] [--permission PERM] [--at TIME] [--env-file PATH]",
    .summary = "Runs the server's decision offline and prints, on one line, the JSON object\n"
               "POST /v1/authorize answers. Rate limits are a running server's state: check\n"
               "never reports RATE_LIMITED and consumes nothing.",
    .options = k_options,
    .environment = k_key_source_environment,
    .exit_codes = k_exit_codes,
};

bool valid_method(const std::string& method) {
    return !method.empty() && method.size() <= 32 &&
           std::all_of(method.begin(), method.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
           });
}

std::string upper(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    }
    return text;
}

} // namespace

const CommandSpec& check_command() {
    return k_command;
}

int run_check(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
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
    // Both required: parse_args checked.
    const auto config_path = parsed->value("--config");
    const auto key_arg = parsed->value("--key");

    AuthRequest request;
    request.method = upper(*value_or_default(*parsed, k_command, "--method"));
    if (!valid_method(request.method)) {
        return usage_error(err, k_command, "--method must be an HTTP method such as GET or POST");
    }
    const std::string path = *value_or_default(*parsed, k_command, "--path");
    if (!path.starts_with('/')) {
        return usage_error(err, k_command, "--path must start with '/'");
    }
    OriginalUri uri = read_original_uri(path);
    const std::optional<std::string> query_key = uri.api_key;
    apply_original_uri(request, std::move(uri));
    request.header_dataset = parsed->value("--dataset");
    const auto ip = parse_ip(*value_or_default(*parsed, k_command, "--ip"));
    if (!ip)
        return usage_error(err, k_command, "--ip must be an IPv4 or IPv6 address");
    request.client_ip = *ip;
    request.permission = parsed->value("--permission");
    TimePoint now = now_ms();
    if (const auto at = parsed->value("--at")) {
        const auto parsed_at = parse_timestamp(*at);
        if (!parsed_at) {
            return usage_error(err, k_command, "--at: " + parsed_at.error().message);
        }
        now = *parsed_at;
    }

    // The key set is built exactly as `serve` builds it: env file, environment keys,
    // environment overrides, the same loader.
    const auto offline = offline_key_sources(*config_path, parsed->value("--env-file"));
    if (!offline)
        return operation_failed(err, "check", offline.error().message);
    const KeySetSources& sources = offline->sources;
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
    if (load.store->config().settings.allow_query_key && query_key)
        credentials.query = *query_key;
    const KeySelection selection = select_key(credentials);
    request.key = selection.key;
    request.conflicting_keys = selection.conflicting;

    const Decision decision = decide(*load.store, request, now);
    out << decision_json(decision).dump() << '\n';
    return decision.allowed() ? k_exit_ok : k_exit_failed;
}

} // namespace keygate::cli
