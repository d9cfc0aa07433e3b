// `keygate generate --tenant NAME [--prefix pk] [--count N]`: new keys in keygate's format,
// each with its hash and a ready-to-paste `api_keys:` entry that holds the hash only.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_key_entry.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"

#include <charconv>
#include <ostream>

namespace keygate::cli {

namespace {

constexpr int k_max_count = 10000;

constexpr OptionSpec k_options[] = {
    {.name = "--tenant",
     .takes_value = true,
     .value_name = "NAME",
     .help = "the tenant the key is for: 1-64 of [A-Za-z0-9_-], a letter or digit first",
     .required = true},
    {.name = "--prefix",
     .takes_value = true,
     .value_name = "PREFIX",
     .help = "the key's first part: 1-16 of [A-Za-z0-9]",
     .default_value = "pk"},
    {.name = "--count",
     .takes_value = true,
     .value_name = "N",
     .help = "how many keys, 1-10000, separated by a blank line",
     .default_value = "1"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "the keys were printed"},
    {2, "usage error (a bad tenant, prefix or count)"},
};

constexpr CommandSpec k_command{
    .name = "generate",
    .synopsis = "keygate generate --tenant NAME [--prefix pk] [--count N]",
    .summary = "Creates keys PREFIX_TENANT_<30 base62 random><6 check> from OpenSSL's CSPRNG and\n"
               "prints, per key: the plaintext key (shown once), its sha256: hash, and an\n"
               "api_keys: entry to paste that holds the hash only (role viewer).",
    .options = k_options,
    .exit_codes = k_exit_codes,
};

std::optional<int> parse_count(std::string_view text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > k_max_count) {
        return std::nullopt;
    }
    return value;
}

} // namespace

const CommandSpec& generate_command() {
    return k_command;
}

int run_generate(const Args& args, std::ostream& out, std::ostream& err) {
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
    const auto tenant = parsed->value("--tenant"); // required: parse_args checked
    const std::string prefix = *value_or_default(*parsed, k_command, "--prefix");
    const auto count = parse_count(*value_or_default(*parsed, k_command, "--count"));
    if (!count) {
        const std::string message =
            "--count must be a whole number from 1 to " + std::to_string(k_max_count);
        return usage_error(err, k_command, message);
    }

    std::string text;
    for (int i = 1; i <= *count; ++i) {
        const auto key = generate_key(prefix, *tenant);
        // Bad prefix or tenant: refused before anything is printed.
        if (!key)
            return usage_error(err, k_command, key.error().message);
        const SecretDigest secret{HashKind::sha256, sha256(*key)};
        const std::string hash = format_secret(secret);
        if (i > 1)
            text += '\n';
        text += "# key " + std::to_string(i) + " of " + std::to_string(*count) + " for tenant " +
                *tenant + ": shown once, store it in your secret manager now\n";
        text += *key + '\n';
        text += hash + '\n';
        text += "# paste under api_keys: (role " + std::string(k_generated_role) +
                " is the least-privileged default; change it as needed)\n";
        // The id is the loader's default id written out, so that it stays the same when the
        // secret is rotated later.
        text += "  - id: k-" + to_hex(secret.digest).substr(0, 12) + '\n';
        text += "    key_hash: \"" + hash + "\"\n";
        text += "    tenant: " + yaml_quote(*tenant) + '\n';
        text += "    role: " + std::string(k_generated_role) + '\n';
        text += "    description: \"TODO: who or what uses this key\"\n";
    }
    out << text;
    return k_exit_ok;
}

} // namespace keygate::cli
