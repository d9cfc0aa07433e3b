#pragma once
// The subcommands of the keygate executable. Each takes its own arguments (without the
// program and subcommand names) and returns the process exit code of CONTRACT §2:
// 0 success / allowed / valid, 1 invalid / denied / failed, 2 usage error.
#include <iosfwd>
#include <string>
#include <vector>

namespace keygate::cli {

/// Exit codes shared by every subcommand.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_usage = 2;

/// The arguments after the subcommand name.
using Args = std::vector<std::string>;

/// `keygate serve [--config PATH] [--listen HOST:PORT] [--env-file PATH]`
int run_serve(const Args& args);
/// `keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] [--at TIME] PATH`
int run_validate(const Args& args, std::ostream& out, std::ostream& err);
/// `keygate check --config PATH --key KEY|- [--dataset NAME] [--method M] [--path P] [--ip ADDR]`
int run_check(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
/// `keygate hash [--hmac]`, the key on stdin
int run_hash(const Args& args, std::istream& in, std::ostream& out, std::ostream& err);
/// `keygate generate --tenant NAME [--prefix pk] [--count N]`
int run_generate(const Args& args, std::ostream& out, std::ostream& err);
/// `keygate rotate --config PATH --id KEY_ID [--grace DURATION] [--write]`
int run_rotate(const Args& args, std::ostream& out, std::ostream& err);
/// `keygate report [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d]
/// [--format text|json] [--at TIME] [--env-file PATH]`: key hygiene, offline
int run_report(const Args& args, std::ostream& out, std::ostream& err);
/// `keygate probe --url URL [--timeout 2s]`: exit 0 on a 2xx answer, 1 otherwise
int run_probe(const Args& args, std::ostream& out, std::ostream& err);
/// `keygate version`
int run_version(const Args& args, std::ostream& out);

/// The top-level usage text.
std::string usage_text();

} // namespace keygate::cli
