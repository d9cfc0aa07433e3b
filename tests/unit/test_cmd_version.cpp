// `keygate version` and the top-level usage text.
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "cli/grpc_support.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

using namespace keygate::cli;

TEST_CASE("version prints keygate, the project version and whether gRPC is built in",
          "[cmd_version]") {
    std::ostringstream out, err;
    CHECK(run_version({}, out, err) == k_exit_ok);
    // The second line follows CMake's KEYGATE_WITH_GRPC; tests/e2e/grpc_build.sh and
    // no_grpc_build.sh check it against what the binary links, in each build.
    CHECK(std::regex_match(
        out.str(), std::regex("keygate [0-9]+\\.[0-9]+\\.[0-9]+\n"
                              "grpc: (on|off \\(built with -DKEYGATE_WITH_GRPC=OFF\\))\n")));
    CHECK(out.str().ends_with(std::string(k_grpc_build_line) + '\n'));
    CHECK(err.str().empty());
}

TEST_CASE("version --help prints its help, not the version", "[cmd_version]") {
    for (const char* flag : {"--help", "-h"}) {
        std::ostringstream out, err;
        CHECK(run_version({flag}, out, err) == k_exit_ok);
        CHECK(out.str() == help_text(version_command()));
        CHECK(out.str().starts_with("usage: keygate version\n"));
    }
}

TEST_CASE("version refuses arguments", "[cmd_version]") {
    std::ostringstream out, err;
    CHECK(run_version({"--verbose"}, out, err) == k_exit_usage);
    CHECK(out.str().empty());
    CHECK(err.str() == "keygate version: unknown option '--verbose'\n"
                       "usage: keygate version\n");
    std::ostringstream out2, err2;
    CHECK(run_version({"now"}, out2, err2) == k_exit_usage);
    CHECK(err2.str() == "keygate version: takes no arguments\nusage: keygate version\n");
}

TEST_CASE("the usage text lists every subcommand of the contract", "[cmd_version]") {
    const std::string usage = usage_text();
    for (const char* line : {
             "keygate serve    [--config PATH] [--listen HOST:PORT] [--env-file PATH] "
             "[--grpc-listen HOST:PORT]\n"
             "                   [--admin-listen HOST:PORT]\n",
             "keygate validate [--strict] [--format text|json] [--warn-expiring DURATION] "
             "[--at TIME] PATH\n",
             "keygate check    --config PATH --key KEY|- [--dataset NAME] [--method M] "
             "[--path P] [--ip ADDR]\n",
             "keygate hash     [--hmac]                 # reads one key on stdin\n",
             "keygate generate --tenant NAME [--prefix pk] [--count N]\n",
             "keygate rotate   --config PATH --id KEY_ID [--grace DURATION] [--write]\n",
             "keygate version\n",
         }) {
        INFO(line);
        CHECK(usage.find(line) != std::string::npos);
    }
    CHECK(usage.starts_with("usage: keygate COMMAND [OPTIONS]\n"));
}
