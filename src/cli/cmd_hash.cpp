// `keygate hash [--hmac]`: the hash of one key read on stdin, ready for `key_hash:`.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_key_input.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"

#include <cstdlib>
#include <istream>
#include <ostream>

namespace keygate::cli {

namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--hmac", .help = "print hmac-sha256:<hex> keyed by KEYGATE_HASH_PEPPER"},
};
constexpr EnvironmentSpec k_environment[] = {
    {"KEYGATE_HASH_PEPPER", "", "the secret that keys --hmac (required with it)"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "the hash was printed"},
    {1, "no key, a key of several lines or with a control character, or --hmac without "
        "KEYGATE_HASH_PEPPER"},
    {2, "usage error (the key given as an argument instead of on stdin)"},
};

constexpr CommandSpec k_command{
    .name = "hash",
    .synopsis = "keygate hash [--hmac]   (reads one key on stdin)",
    .summary = "Reads one key on stdin (one trailing newline removed) and prints the line for\n"
               "key_hash: in the key file, sha256:<64 lowercase hex>.",
    .options = k_options,
    .environment = k_environment,
    .exit_codes = k_exit_codes,
};

} // namespace

const CommandSpec& hash_command() {
    return k_command;
}

int run_hash(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(err, k_command, parsed.error().message);
    if (parsed->help) {
        out << help_text(k_command);
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        // Never echo it: a positional here is most likely the key itself, which must not
        // end up in the shell history or on a terminal; say how to pass it instead.
        return usage_error(err, k_command, "the key is read on stdin, not from the arguments");
    }

    SecretDigest secret;
    std::string pepper;
    if (parsed->has("--hmac")) {
        const char* value = std::getenv("KEYGATE_HASH_PEPPER");
        if (value == nullptr || *value == '\0') {
            return operation_failed(err, "hash", "--hmac needs KEYGATE_HASH_PEPPER to be set");
        }
        pepper = value;
        secret.kind = HashKind::hmac_sha256;
    }
    const auto key = read_key(in);
    if (!key)
        return operation_failed(err, "hash", key.error().message);
    secret.digest = secret.kind == HashKind::sha256 ? sha256(*key) : hmac_sha256(pepper, *key);
    out << format_secret(secret) << '\n';
    return k_exit_ok;
}

} // namespace keygate::cli
