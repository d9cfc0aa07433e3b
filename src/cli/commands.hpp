#pragma once
// The subcommands of the keygate executable. Each takes its own arguments (without the
// program and subcommand names) and returns the process exit code of CONTRACT §2:
// 0 success / allowed / valid, 1 invalid / denied / failed, 2 usage error. Each also has
// its table (CommandSpec, cli_args.hpp): the options its parser accepts and its help page.
#include <iosfwd>
#include <string>
#include <vector>

namespace keygate::cli {

struct CommandSpec;

/// Exit codes shared by every subcommand.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_usage = 2;

/// The arguments after the subcommand name.
using Args = std::vector<std::string>;

/// `keygate serve [--config PATH] [--listen HOST:PORT] [--env-file PATH] ...`
int run_serve(const Args& args);
/// The table of `serve`.
const CommandSpec& serve_command();
/// `keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] [--at TIME] PATH`
int run_validate(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `validate`.
const CommandSpec& validate_command();
/// `keygate check --config PATH --key KEY|- [--dataset NAME] [--method M] [--path P] [--ip ADDR]`
int run_check(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
/// The table of `check`.
const CommandSpec& check_command();
/// `keygate hash [--hmac]`, the key on stdin
int run_hash(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
/// The table of `hash`.
const CommandSpec& hash_command();
/// `keygate generate --tenant NAME [--prefix pk] [--count N]`
int run_generate(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `generate`.
const CommandSpec& generate_command();
/// `keygate rotate --config PATH --id KEY_ID [--grace DURATION] [--write]`
int run_rotate(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `rotate`.
const CommandSpec& rotate_command();
/// `keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d]
/// [--format text|json] [--at TIME] [--env-file PATH]`: key hygiene, offline
int run_report(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `report`.
const CommandSpec& report_command();
/// `keygate probe --url URL [--timeout 2s]`: exit 0 on a 2xx answer, 1 otherwise
int run_probe(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `probe`.
const CommandSpec& probe_command();
/// `keygate version`
int run_version(const Args& args, std::ostream& out, std::ostream& err);
/// The table of `version`.
const CommandSpec& version_command();

/// The top-level usage text.
std::string usage_text();

} // namespace keygate::cli
