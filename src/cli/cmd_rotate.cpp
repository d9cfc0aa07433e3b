// `keygate rotate --config PATH --id KEY_ID [--grace DURATION] [--prefix pk] [--write]`:
// a new secret for one entry; the old one moves to `previous_keys` until now + grace.
#include "cli/cli_args.hpp"
#include "cli/cli_atomic_write.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_key_file_edit.hpp"
#include "cli/commands.hpp"
#include "core/config_loader.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"
#include "core/time.hpp"

#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>

namespace keygate::cli {

namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--config",
     .takes_value = true,
     .value_name = "PATH",
     .help = "the key file that holds the entry",
     .required = true},
    {.name = "--id",
     .takes_value = true,
     .value_name = "KEY_ID",
     .help = "the entry to give a new secret (an entry of the file, not env-admin)",
     .required = true},
    {.name = "--grace",
     .takes_value = true,
     .value_name = "DURATION",
     .help = "how long the old secret keeps working (previous_keys expires_at = now + grace)",
     .default_value = "7d"},
    {.name = "--prefix",
     .takes_value = true,
     .value_name = "PREFIX",
     .help = "the new key's first part: 1-16 of [A-Za-z0-9]",
     .default_value = "pk"},
    {.name = "--write",
     .help = "replace the file atomically; without it nothing is written, paste the entry"},
};
constexpr EnvironmentSpec k_environment[] = {
    {"KEYGATE_HASH_PEPPER", "", "the secret of hmac-sha256: hashes, to load the file"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "the new key and the updated entry were printed (and written, with --write)"},
    {1, "the file does not load, no entry with that id, or the edit failed: file unchanged"},
    {2, "usage error"},
};

constexpr CommandSpec k_command{
    .name = "rotate",
    .synopsis =
        "keygate rotate --config PATH --id KEY_ID [--grace DURATION] [--prefix pk] [--write]",
    .summary = "Gives entry KEY_ID a new secret, prints the new plaintext key once and the\n"
               "updated entry, in which the old secret sits under previous_keys until now +\n"
               "grace. Every other byte of the file is kept, comments included.",
    .options = k_options,
    .environment = k_environment,
    .exit_codes = k_exit_codes,
};

LoadOptions load_options(TimePoint now) {
    LoadOptions options;
    if (const char* pepper = std::getenv("KEYGATE_HASH_PEPPER"); pepper && *pepper) {
        options.hash_pepper = pepper;
    }
    options.now = now;
    return options;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return std::nullopt;
    return std::move(text).str();
}

/// The tenant part of the new key: the entry's tenant with characters the key format does
/// not allow replaced by '-' (the tenant in a key is a label for humans and secret scanners;
/// the entry, not the key, decides the tenant).
std::string tenant_label(const KeyEntry& entry) {
    if (!entry.tenant || entry.tenant->empty())
        return "admin";
    std::string label = entry.tenant->substr(0, 64);
    for (char& c : label) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && c != '_' && c != '-')
            c = '-';
    }
    if (label.front() == '_' || label.front() == '-')
        label.front() = 'x';
    return label;
}

void print_diagnostics(std::ostream& err, const std::string& path, const Diagnostics& found) {
    for (const Diagnostic& d : found.items)
        err << format_diagnostic(path, d) << '\n';
}

const KeyEntry* find_file_entry(const Config& config, const std::string& id) {
    for (const KeyEntry& entry : config.api_keys) {
        if (entry.id == id && entry.line > 0)
            return &entry;
    }
    return nullptr;
}

} // namespace

const CommandSpec& rotate_command() {
    return k_command;
}

int run_rotate(const Args& args, std::ostream& out, std::ostream& err) {
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
    const auto path = parsed->value("--config");
    const auto id = parsed->value("--id");
    const std::string grace_text = *value_or_default(*parsed, k_command, "--grace");
    const auto grace = parse_duration(grace_text);
    if (!grace) {
        return usage_error(err, k_command, "--grace: " + grace.error().message);
    }
    const std::string prefix = *value_or_default(*parsed, k_command, "--prefix");

    const auto text = read_file(*path);
    if (!text)
        return operation_failed(err, "rotate", "cannot read " + *path);
    const TimePoint now = now_ms();
    const LoadOptions options = load_options(now);
    const LoadResult loaded = load_config_text(*text, options);
    if (!loaded.config) {
        print_diagnostics(err, *path, loaded.diagnostics);
        return operation_failed(err, "rotate", *path + " is not valid; fix it first");
    }
    const KeyEntry* entry = find_file_entry(*loaded.config, *id);
    if (entry == nullptr) {
        return operation_failed(err, "rotate", "no key with id '" + *id + "' in " + *path);
    }

    const auto key = generate_key(prefix, tenant_label(*entry));
    if (!key)
        return usage_error(err, k_command, key.error().message);
    const SecretDigest secret{HashKind::sha256, sha256(*key)};
    // Whole seconds, as written to the file (a grace of 1500ms ends at the second before).
    const TimePoint retired_until = std::chrono::floor<std::chrono::seconds>(now + *grace);
    const std::string expires_at = format_timestamp(retired_until);

    SecretRotation rotation;
    rotation.entry_line = entry->line;
    rotation.new_key_hash = format_secret(secret);
    rotation.retired = {format_secret(entry->secret), expires_at};
    for (const PreviousSecret& previous : entry->previous_keys) {
        const bool has_millis = previous.expires_at.time_since_epoch().count() % 1000 != 0;
        rotation.kept.push_back(
            {format_secret(previous.secret), format_timestamp(previous.expires_at, has_millis)});
    }
    rotation.pin_id = entry->id;
    const auto edited = apply_secret_rotation(*text, rotation);
    if (!edited)
        return operation_failed(err, "rotate", edited.error().message);

    // The edit is checked by the same loader the server uses before anything is shown or
    // written: a rotation must never leave a file that the server would refuse.
    const LoadResult check = load_config_text(edited->text, options);
    const KeyEntry* rotated = check.config ? find_file_entry(*check.config, *id) : nullptr;
    const bool retired_kept = rotated != nullptr && !rotated->previous_keys.empty() &&
                              rotated->previous_keys.back().secret == entry->secret &&
                              rotated->previous_keys.back().expires_at == retired_until;
    if (rotated == nullptr || rotated->secret != secret || !retired_kept) {
        print_diagnostics(err, *path, check.diagnostics);
        return operation_failed(err, "rotate",
                                "the edited entry did not load back as expected; " + *path +
                                    " was not changed");
    }
    const bool write = parsed->has("--write");
    if (write) {
        const auto written = write_file_atomically(*path, edited->text);
        if (!written)
            return operation_failed(err, "rotate", written.error().message);
    }

    std::string report;
    report += "# new key for '" + *id + "': shown once, store it in your secret manager now\n";
    report += *key + '\n';
    report += rotation.new_key_hash + '\n';
    report += "# the old secret stays valid until " + expires_at + " (grace " +
              format_duration(*grace) + ")\n";
    report += "# updated entry (" + *path + ", line " + std::to_string(edited->first_line) + "):\n";
    report += edited->entry_text;
    if (!edited->entry_text.ends_with('\n'))
        report += '\n';
    report += write ? "# " + *path + " updated\n"
                    : "# " + *path +
                          " was not changed: replace the entry with the one above, "
                          "or rotate again with --write\n";
    out << report;
    return k_exit_ok;
}

} // namespace keygate::cli
