#pragma once
// A small command-line parser shared by the subcommands: long options with or without a
// value, positionals, and usage errors that name the offending argument. Each subcommand
// describes itself in one CommandSpec table; the parser reads the same table the help text
// (cli_help.hpp) is printed from, so the two cannot drift apart.
#include "cli/commands.hpp"
#include "core/result.hpp"

#include <initializer_list>
#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::cli {

/// One option a subcommand accepts, e.g. {"--config", true} or {"--strict", false}, with
/// what `--help` says of it. Literal views only: a spec lives as long as the program.
struct OptionSpec {
    std::string_view name;         ///< with its leading dashes
    bool takes_value = false;      ///< `--name VALUE` or `--name=VALUE`
    std::string_view value_name{}; ///< how help shows the value ("PATH"); "VALUE" when empty
    std::string_view help{};       ///< one line: what the option does
    /// The value when the option is not given, as help shows it ("keys.yaml", "now");
    /// empty for a flag or an option whose absence help describes.
    std::string_view default_value{};
    std::string_view env{}; ///< the environment variable that sets it too (the flag wins)
    bool required = false;  ///< parse_args() fails without it ("--NAME is required")
};

/// A positional argument, for the help text (the command checks their number itself).
struct ArgumentSpec {
    std::string_view name; ///< "PATH"
    std::string_view help;
};

/// An environment variable a command reads that is no option's (`KEYGATE_HASH_PEPPER`).
struct EnvironmentSpec {
    std::string_view name;
    std::string_view default_value; ///< empty: unset by default
    std::string_view help;
};

/// One exit code of a command and what it means for that command.
struct ExitCodeSpec {
    int code;
    std::string_view meaning;
};

/// Everything a subcommand accepts and promises: the parser's table and its help page.
struct CommandSpec {
    std::string_view name;     ///< "serve"
    std::string_view synopsis; ///< the usage line, "keygate serve [--config PATH] ..."
    std::string_view summary;  ///< what the command does, one or more lines
    std::span<const OptionSpec> options;
    std::span<const ArgumentSpec> arguments{};
    std::span<const EnvironmentSpec> environment{};
    std::span<const ExitCodeSpec> exit_codes{};
    std::string_view notes{}; ///< further text at the end of the help page (may be empty)
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
/// A lone "-" is a positional. Errors, as usage messages: unknown option (with "did you
/// mean" when one option is close), missing value, a value given to a flag, an option given
/// twice, and — unless `--help` was given — a required option missing.
Result<ParsedArgs> parse_args(const Args& args, std::span<const OptionSpec> specs);

/// parse_args() for a literal list of specs (tests, small callers).
inline Result<ParsedArgs> parse_args(const Args& args, std::initializer_list<OptionSpec> specs) {
    return parse_args(args, std::span<const OptionSpec>(specs.begin(), specs.size()));
}

/// parse_args() against a command's table.
inline Result<ParsedArgs> parse_args(const Args& args, const CommandSpec& command) {
    return parse_args(args, command.options);
}

/// The value of an option, else its default from the table (nullopt: neither).
std::optional<std::string> value_or_default(const ParsedArgs& parsed, const CommandSpec& command,
                                            std::string_view name);

/// Prints "keygate COMMAND: MESSAGE" and the usage line to `err`; returns k_exit_usage.
int usage_error(std::ostream& err, std::string_view command, std::string_view message,
                std::string_view usage);

/// usage_error() with the command's name and synopsis.
int usage_error(std::ostream& err, const CommandSpec& command, std::string_view message);

/// Prints "keygate COMMAND: MESSAGE" to `err`; returns k_exit_failed.
int operation_failed(std::ostream& err, std::string_view command, std::string_view message);

} // namespace keygate::cli
