// `keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] [--at TIME]
// PATH`: every problem of a key file, at once, as "PATH:LINE:COL: error: MESSAGE" lines and a
// summary, or as a JSON array.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "core/config_loader.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

namespace keygate::cli {
namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--strict", .help = "count every warning as an error (and show it as one)"},
    {.name = "--format",
     .takes_value = true,
     .value_name = "text|json",
     .help = "text: PATH:LINE:COL: SEVERITY: MESSAGE lines and a summary line; json: one array",
     .default_value = "text"},
    {.name = "--warn-expiring",
     .takes_value = true,
     .value_name = "DURATION",
     .help = "warn about each enabled key whose expires_at falls within DURATION (e.g. 14d)",
     .default_value = "off"},
    {.name = "--at",
     .takes_value = true,
     .value_name = "TIME",
     .help = "validate as of this RFC 3339 time (which keys are expired or expiring)",
     .default_value = "now"},
};
constexpr ArgumentSpec k_arguments[] = {
    {"PATH", "the key file, shown in each diagnostic as given (a pipe works: <(kubectl ...))"},
};
constexpr EnvironmentSpec k_environment[] = {
    {"KEYGATE_HASH_PEPPER", "", "the secret of hmac-sha256: hashes (without it they are errors)"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "valid (warnings allowed, unless --strict)"},
    {1, "invalid: at least one error, or the file cannot be read"},
    {2, "usage error"},
};

constexpr CommandSpec k_command{
    .name = "validate",
    .synopsis = "keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] "
                "[--at TIME] PATH",
    .summary = "Reports every problem of a key file in one run, on stdout: errors (YAML syntax,\n"
               "unknown fields with a \"did you mean\", wrong types, duplicates, bad values) and\n"
               "warnings (plaintext or weak keys, expired keys, permissions outside the role).",
    .options = k_options,
    .arguments = k_arguments,
    .environment = k_environment,
    .exit_codes = k_exit_codes,
    .notes =
        "text ends with \"PATH: ok, N keys[, N warnings]\" or \"PATH: invalid, N errors[, ...]\";\n"
        "json prints [{\"file\", \"line\", \"column\", \"severity\", \"message\"}, ...] on one "
        "line.",
};

std::string count(std::size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// "PATH: ok, 3 keys[, 1 warning]" or "PATH: invalid, 2 errors[, 1 warning]".
std::string summary(const std::string& path, const LoadResult& result, std::size_t errors,
                    std::size_t warnings) {
    std::string line = path + ": ";
    if (errors == 0) {
        line += "ok, " + count(result.config ? result.config->api_keys.size() : 0, "key");
    } else {
        line += "invalid, " + count(errors, "error");
    }
    if (warnings > 0)
        line += ", " + count(warnings, "warning");
    return line;
}

} // namespace

const CommandSpec& validate_command() {
    return k_command;
}

int run_validate(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(err, k_command, parsed.error().message);
    if (parsed->help) {
        out << help_text(k_command);
        return k_exit_ok;
    }
    const std::string format = *value_or_default(*parsed, k_command, "--format");
    if (format != "text" && format != "json") {
        return usage_error(err, k_command, "--format must be text or json");
    }
    if (parsed->positionals.size() != 1) {
        return usage_error(err, k_command,
                           parsed->positionals.empty() ? "missing PATH" : "give exactly one PATH");
    }
    const std::string& path = parsed->positionals.front();
    const bool strict = parsed->has("--strict");

    LoadOptions options;
    options.regular_files_only = false; // `validate <(kubectl ...)` reads a pipe
    options.now = now_ms();
    if (const auto at = parsed->value("--at")) {
        const auto parsed_at = parse_timestamp(*at);
        if (!parsed_at)
            return usage_error(err, k_command, "--at: " + parsed_at.error().message);
        options.now = *parsed_at;
    }
    if (const auto window = parsed->value("--warn-expiring")) {
        const auto parsed_window = parse_duration(*window);
        if (!parsed_window || parsed_window->count() <= 0) {
            return usage_error(err, k_command,
                               "--warn-expiring must be a positive duration such as 14d");
        }
        options.warn_expiring_within = *parsed_window;
    }
    if (const char* pepper = std::getenv("KEYGATE_HASH_PEPPER"); pepper && *pepper != '\0') {
        options.hash_pepper = pepper;
    }
    LoadResult result = load_config_file(path, options);

    // --strict: a warning is an error, and is shown as one.
    if (strict) {
        for (Diagnostic& d : result.diagnostics.items)
            d.severity = Severity::error;
    }
    const std::size_t errors = result.diagnostics.error_count();
    const std::size_t warnings = result.diagnostics.warning_count();

    if (format == "json") {
        auto list = nlohmann::ordered_json::array();
        for (const Diagnostic& d : result.diagnostics.items) {
            list.push_back({{"file", path},
                            {"line", d.line},
                            {"column", d.column},
                            {"severity", to_string(d.severity)},
                            {"message", d.message}});
        }
        // Replace, not throw, should a path hold invalid UTF-8.
        out << list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
        for (const Diagnostic& d : result.diagnostics.items) {
            out << format_diagnostic(path, d) << '\n';
        }
        out << summary(path, result, errors, warnings) << '\n';
    }
    return errors == 0 ? k_exit_ok : k_exit_failed;
}

} // namespace keygate::cli
