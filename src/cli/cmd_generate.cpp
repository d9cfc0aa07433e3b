// `keygate generate --tenant NAME [--prefix pk] [--count N]`: new keys in keygate's format,
// each with its hash and a ready-to-paste `api_keys:` entry that holds the hash only.
#include "cli/cli_args.hpp"
#include "cli/cli_key_entry.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"

#include <charconv>
#include <ostream>

namespace keygate::cli {

namespace {

constexpr std::string_view k_usage = "keygate generate --tenant NAME [--prefix pk] [--count N]";
constexpr int k_max_count = 10000;

std::optional<int> parse_count(std::string_view text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 ||
        value > k_max_count) {
        return std::nullopt;
    }
    return value;
}

} // namespace

int run_generate(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed =
        parse_args(args, {{"--tenant", true}, {"--prefix", true}, {"--count", true}});
    if (!parsed) return usage_error(err, "generate", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n';
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, "generate", "unexpected argument '" + parsed->positionals[0] + "'",
                           k_usage);
    }
    const auto tenant = parsed->value("--tenant");
    if (!tenant) return usage_error(err, "generate", "--tenant is required", k_usage);
    const std::string prefix = parsed->value_or("--prefix", "pk");
    const auto count = parse_count(parsed->value_or("--count", "1"));
    if (!count) {
        const std::string message =
            "--count must be a whole number from 1 to " + std::to_string(k_max_count);
        return usage_error(err, "generate", message, k_usage);
    }

    std::string text;
    for (int i = 1; i <= *count; ++i) {
        const auto key = generate_key(prefix, *tenant);
        // Bad prefix or tenant: refused before anything is printed.
        if (!key) return usage_error(err, "generate", key.error().message, k_usage);
        const SecretDigest secret{HashKind::sha256, sha256(*key)};
        const std::string hash = format_secret(secret);
        if (i > 1) text += '\n';
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
