#pragma once
// The list of subcommands, with their tables and entry points, and the top-level dispatch
// of `keygate COMMAND ...`: `help [COMMAND]`, `--version`, and "did you mean" for an unknown
// command. A new subcommand is one more entry in command_entries().
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"

#include <iosfwd>
#include <span>
#include <string_view>

namespace keygate::cli {

/// A subcommand: its table and how to run it with the process's streams.
struct CommandEntry {
    const CommandSpec& (*spec)();
    int (*run)(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
};

/// Every subcommand, in the order the usage text lists them.
std::span<const CommandEntry> command_entries();

/// The subcommand called `name`, or nullptr.
const CommandEntry* find_command(std::string_view name);

/// Runs `keygate ARGS...` (`args` without the program name): the subcommand, `help`,
/// `help COMMAND`, `--help`, `--version`; an unknown command is a usage error (exit 2) that
/// suggests the closest name.
int dispatch(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);

} // namespace keygate::cli
