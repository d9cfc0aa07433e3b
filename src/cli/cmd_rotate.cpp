// `keygate rotate --config PATH --id KEY_ID [--grace DURATION] [--prefix pk] [--write]`:
// a new secret for one entry; the old one moves to `previous_keys` until now + grace.
#include "cli/cli_args.hpp"
#include "cli/cli_atomic_write.hpp"
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

constexpr std::string_view k_usage = "keygate rotate --config PATH --id KEY_ID "
                                     "[--grace DURATION] [--prefix pk] [--write]";
constexpr std::string_view k_default_grace = "7d";

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
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(text).str();
}

/// The tenant part of the new key: the entry's tenant with characters the key format does
/// not allow replaced by '-' (the tenant in a key is a label for humans and secret scanners;
/// the entry, not the key, decides the tenant).
std::string tenant_label(const KeyEntry& entry) {
    if (!entry.tenant || entry.tenant->empty()) return "admin";
    std::string label = entry.tenant->substr(0, 64);
    for (char& c : label) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && c != '_' && c != '-') c = '-';
    }
    if (label.front() == '_' || label.front() == '-') label.front() = 'x';
    return label;
}

void print_diagnostics(std::ostream& err, const std::string& path, const Diagnostics& found) {
    for (const Diagnostic& d : found.items) err << format_diagnostic(path, d) << '\n';
}

const KeyEntry* find_file_entry(const Config& config, const std::string& id) {
    for (const KeyEntry& entry : config.api_keys) {
        if (entry.id == id && entry.line > 0) return &entry;
    }
    return nullptr;
}

} // namespace

int run_rotate(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, {{"--config", true},
                                          {"--id", true},
                                          {"--grace", true},
                                          {"--prefix", true},
                                          {"--write", false}});
    if (!parsed) return usage_error(err, "rotate", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n';
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, "rotate", "unexpected argument '" + parsed->positionals[0] + "'",
                           k_usage);
    }
    const auto path = parsed->value("--config");
    if (!path) return usage_error(err, "rotate", "--config is required", k_usage);
    const auto id = parsed->value("--id");
    if (!id) return usage_error(err, "rotate", "--id is required", k_usage);
    const std::string grace_text = parsed->value_or("--grace", k_default_grace);
    const auto grace = parse_duration(grace_text);
    if (!grace) {
        return usage_error(err, "rotate", "--grace: " + grace.error().message, k_usage);
    }
    const std::string prefix = parsed->value_or("--prefix", "pk");

    const auto text = read_file(*path);
    if (!text) return operation_failed(err, "rotate", "cannot read " + *path);
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
    if (!key) return usage_error(err, "rotate", key.error().message, k_usage);
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
        rotation.kept.push_back({format_secret(previous.secret),
                                 format_timestamp(previous.expires_at, has_millis)});
    }
    rotation.pin_id = entry->id;
    const auto edited = apply_secret_rotation(*text, rotation);
    if (!edited) return operation_failed(err, "rotate", edited.error().message);

    // The edit is checked by the same loader the server uses before anything is shown or
    // written: a rotation must never leave a file that the server would refuse.
    const LoadResult check = load_config_text(edited->text, options);
    const KeyEntry* rotated = check.config ? find_file_entry(*check.config, *id) : nullptr;
    const bool retired_kept =
        rotated != nullptr && !rotated->previous_keys.empty() &&
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
        if (!written) return operation_failed(err, "rotate", written.error().message);
    }

    std::string report;
    report += "# new key for '" + *id + "': shown once, store it in your secret manager now\n";
    report += *key + '\n';
    report += rotation.new_key_hash + '\n';
    report += "# the old secret stays valid until " + expires_at + " (grace " +
              format_duration(*grace) + ")\n";
    report += "# updated entry (" + *path + ", line " + std::to_string(edited->first_line) + "):\n";
    report += edited->entry_text;
    if (!edited->entry_text.ends_with('\n')) report += '\n';
    report += write ? "# " + *path + " updated\n"
                    : "# " + *path + " was not changed: replace the entry with the one above, "
                      "or rotate again with --write\n";
    out << report;
    return k_exit_ok;
}

} // namespace keygate::cli
