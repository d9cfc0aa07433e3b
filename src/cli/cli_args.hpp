#pragma once
// A small command-line parser shared by the subcommands: long options with or without a
// value, positionals, and usage errors that name the offending argument.
#include "cli/commands.hpp"
#include "core/result.hpp"

#include <initializer_list>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::cli {

/// One option a subcommand accepts, e.g. {"--config", true} or {"--strict", false}.
struct OptionSpec {
    std::string name;         ///< with its leading dashes
    bool takes_value = false; ///< `--name VALUE` or `--name=VALUE`
};

/// A parsed command line. Plain value type.
struct ParsedArgs {
    std::map<std::string, std::string, std::less<>> values; ///< options given (flags: "")
    std::vector<std::string> positionals;                   ///< in order
    bool help = false;                                      ///< `--help` or `-h` was given

    /// True when the option (flag or valued) was given.
    bool has(std::string_view name) const { return values.find(name) != values.end(); }
    /// The option's value, or nullopt when it was not given.
    std::optional<std::string> value(std::string_view name) const;
    /// The option's value, or `fallback`.
    std::string value_or(std::string_view name, std::string_view fallback) const;
};

/// Parses `args` against `specs`. Accepts `--name VALUE` (the value may start with '-', so
/// `--key -` works), `--name=VALUE`, `--` (everything after it is positional) and `--help`/`-h`.
/// A lone "-" is a positional. Errors, as usage messages: unknown option, missing value,
/// a value given to a flag, an option given twice.
Result<ParsedArgs> parse_args(const Args& args, std::initializer_list<OptionSpec> specs);

/// Prints "keygate COMMAND: MESSAGE" and the usage line to `err`; returns k_exit_usage.
int usage_error(std::ostream& err, std::string_view command, std::string_view message,
                std::string_view usage);

/// Prints "keygate COMMAND: MESSAGE" to `err`; returns k_exit_failed.
int operation_failed(std::ostream& err, std::string_view command, std::string_view message);

} // namespace keygate::cli
