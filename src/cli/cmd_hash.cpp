// `keygate hash [--hmac]`: the hash of one key read on stdin, ready for `key_hash:`.
#include "cli/cli_args.hpp"
#include "cli/cli_key_input.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"

#include <cstdlib>
#include <istream>
#include <ostream>

namespace keygate::cli {

namespace {
constexpr std::string_view k_usage = "keygate hash [--hmac]   (reads one key on stdin)";
} // namespace

int run_hash(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, {{"--hmac", false}});
    if (!parsed) return usage_error(err, "hash", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n';
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        // Never echo it: a positional here is most likely the key itself, which must not
        // end up in the shell history or on a terminal; say how to pass it instead.
        return usage_error(err, "hash", "the key is read on stdin, not from the arguments",
                           k_usage);
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
    if (!key) return operation_failed(err, "hash", key.error().message);
    secret.digest = secret.kind == HashKind::sha256 ? sha256(*key) : hmac_sha256(pepper, *key);
    out << format_secret(secret) << '\n';
    return k_exit_ok;
}

} // namespace keygate::cli
