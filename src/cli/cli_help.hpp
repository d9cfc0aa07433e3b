#pragma once
// The help page of a subcommand (`keygate CMD --help`, `keygate help CMD`), printed from the
// same CommandSpec table the parser reads: usage, summary, each option with its default and
// its environment variable, the arguments, the environment the command reads, exit codes.
#include "cli/cli_args.hpp"

#include <string>

namespace keygate::cli {

/// The whole help page of `command`, ending in a newline. Pinned by the golden files
/// tests/data/help/COMMAND.txt.
std::string help_text(const CommandSpec& command);

} // namespace keygate::cli
