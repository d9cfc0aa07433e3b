// `keygate version`, and the top-level usage text.
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "cli/grpc_support.hpp"

#include <ostream>

#ifndef KEYGATE_VERSION
#define KEYGATE_VERSION "unknown"
#endif

namespace keygate::cli {
namespace {

constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "the version was printed"},
    {2, "usage error (any argument but --help)"},
};

constexpr CommandSpec k_command{
    .name = "version",
    .synopsis = "keygate version",
    .summary = "Prints \"keygate VERSION\" (the project version from CMake) on stdout, then\n"
               "\"grpc: on\" or \"grpc: off (...)\": whether this build serves --grpc-listen\n"
               "(CMake's KEYGATE_WITH_GRPC).",
    .options = {},
    .exit_codes = k_exit_codes,
};

} // namespace

const CommandSpec& version_command() {
    return k_command;
}

int run_version(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(err, k_command, parsed.error().message);
    if (parsed->help) {
        out << help_text(k_command);
        return k_exit_ok;
    }
    if (!parsed->positionals.empty())
        return usage_error(err, k_command, "takes no arguments");
    out << "keygate " << KEYGATE_VERSION << '\n' << k_grpc_build_line << '\n';
    return k_exit_ok;
}

std::string usage_text() {
    return "usage: keygate COMMAND [OPTIONS]\n"
           "\n"
           "commands:\n"
           "  keygate serve    [--config PATH] [--listen HOST:PORT] [--env-file PATH] "
           "[--grpc-listen HOST:PORT]\n"
           "                   [--admin-listen HOST:PORT]\n"
           "  keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] "
           "[--at TIME] PATH\n"
           "  keygate check    --config PATH --key KEY|- [--dataset NAME] [--method M] "
           "[--path P] [--ip ADDR]\n"
           "  keygate hash     [--hmac]                 # reads one key on stdin\n"
           "  keygate generate --tenant NAME [--prefix pk] [--count N]\n"
           "  keygate rotate   --config PATH --id KEY_ID [--grace DURATION] [--write]\n"
           "  keygate report   [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d] "
           "[--format text|json]\n"
           "  keygate probe    [--url http://HOST:PORT/PATH|unix:/SOCKET[:/PATH]] [--timeout 2s]\n"
           "  keygate version\n"
           "\n"
           "exit codes: 0 success / allowed / valid, 1 invalid config / denied / failed, "
           "2 usage error\n"
           "`keygate help COMMAND` (or `keygate COMMAND --help`) lists every option of a\n"
           "command with its default and environment variable, and its exit codes.\n";
}

} // namespace keygate::cli
