// `keygate version`, and the top-level usage text.
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"

#include <iostream>

#ifndef KEYGATE_VERSION
#define KEYGATE_VERSION "unknown"
#endif

namespace keygate::cli {

int run_version(const Args& args, std::ostream& out) {
    if (!args.empty() && args != Args{"--help"} && args != Args{"-h"}) {
        // run_version's interface has no error stream; usage errors go to stderr like every
        // other command's.
        return usage_error(std::cerr, "version", "takes no arguments", "keygate version");
    }
    out << "keygate " << KEYGATE_VERSION << '\n';
    return k_exit_ok;
}

std::string usage_text() {
    return "usage: keygate COMMAND [OPTIONS]\n"
           "\n"
           "commands:\n"
           "  keygate serve    [--config PATH] [--listen HOST:PORT] [--env-file PATH]\n"
           "  keygate validate [--strict] [--format text|json] PATH\n"
           "  keygate check    --config PATH --key KEY|- [--dataset NAME] [--method M] "
           "[--path P] [--ip ADDR]\n"
           "  keygate hash     [--hmac]                 # reads one key on stdin\n"
           "  keygate generate --tenant NAME [--prefix pk] [--count N]\n"
           "  keygate rotate   --config PATH --id KEY_ID [--grace DURATION] [--write]\n"
           "  keygate report   [--config PATH] [--state-dir DIR] [--expiring 30d] [--unused 30d] "
           "[--format text|json]\n"
           "  keygate probe    --url http://HOST:PORT/PATH|unix:/SOCKET[:/PATH] [--timeout 2s]\n"
           "  keygate version\n"
           "\n"
           "exit codes: 0 success / allowed / valid, 1 invalid config / denied / failed, "
           "2 usage error\n"
           "`keygate COMMAND --help` shows one command's options.\n";
}

} // namespace keygate::cli
