// The subcommand list and the top-level dispatch.
#include "cli/cli_commands.hpp"

#include "cli/cli_help.hpp"
#include "cli/cli_suggest.hpp"

#include <array>
#include <ostream>
#include <vector>

namespace keygate::cli {
namespace {

// serve writes to the process's own streams: it runs for the life of the process and logs
// through spdlog on stderr.
int serve_entry(const Args& args, std::istream&, std::ostream&, std::ostream&) {
    return run_serve(args);
}
int validate_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_validate(args, out, err);
}
int check_entry(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    return run_check(args, in, out, err);
}
int hash_entry(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    return run_hash(args, in, out, err);
}
int generate_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_generate(args, out, err);
}
int rotate_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_rotate(args, out, err);
}
int report_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_report(args, out, err);
}
int probe_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_probe(args, out, err);
}
int version_entry(const Args& args, std::istream&, std::ostream& out, std::ostream& err) {
    return run_version(args, out, err);
}

constexpr std::array k_commands{
    CommandEntry{serve_command, serve_entry},       CommandEntry{validate_command, validate_entry},
    CommandEntry{check_command, check_entry},       CommandEntry{hash_command, hash_entry},
    CommandEntry{generate_command, generate_entry}, CommandEntry{rotate_command, rotate_entry},
    CommandEntry{report_command, report_entry},     CommandEntry{probe_command, probe_entry},
    CommandEntry{version_command, version_entry},
};

/// "keygate: unknown command 'serv' (did you mean 'serve'?)" and the usage text; exit 2.
int unknown_command(std::ostream& err, std::string_view name) {
    std::vector<std::string_view> names{"help"};
    for (const CommandEntry& entry : k_commands)
        names.push_back(entry.spec().name);
    err << "keygate: unknown command '" << name << "'";
    if (const auto near = closest_name(name, names))
        err << " (did you mean '" << *near << "'?)";
    err << '\n' << usage_text();
    return k_exit_usage;
}

} // namespace

std::span<const CommandEntry> command_entries() {
    return k_commands;
}

const CommandEntry* find_command(std::string_view name) {
    for (const CommandEntry& entry : k_commands) {
        if (entry.spec().name == name)
            return &entry;
    }
    return nullptr;
}

int dispatch(const Args& args, std::istream& in, std::ostream& out, std::ostream& err) {
    if (args.empty()) {
        err << usage_text();
        return k_exit_usage;
    }
    const std::string& name = args.front();
    const Args rest(args.begin() + 1, args.end());
    if (name == "help" || name == "--help" || name == "-h") {
        if (rest.empty()) {
            out << usage_text();
            return k_exit_ok;
        }
        if (rest.size() > 1) {
            return usage_error(err, "help", "give one COMMAND", "keygate help [COMMAND]");
        }
        const CommandEntry* entry = find_command(rest.front());
        if (entry == nullptr)
            return unknown_command(err, rest.front());
        out << help_text(entry->spec());
        return k_exit_ok;
    }
    if (name == "--version")
        return run_version(rest, out, err);
    if (const CommandEntry* entry = find_command(name))
        return entry->run(rest, in, out, err);
    return unknown_command(err, name);
}

} // namespace keygate::cli
