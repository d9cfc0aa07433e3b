// `keygate version` and the top-level usage text.
#include "cli/commands.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>

using namespace keygate::cli;

TEST_CASE("version prints keygate and the project version", "[cmd_version]") {
    std::ostringstream out;
    CHECK(run_version({}, out) == k_exit_ok);
    CHECK(std::regex_match(out.str(), std::regex("keygate [0-9]+\\.[0-9]+\\.[0-9]+\n")));
}

TEST_CASE("version refuses arguments", "[cmd_version]") {
    std::ostringstream out;
    CHECK(run_version({"--verbose"}, out) == k_exit_usage);
    CHECK(out.str().empty());
}

TEST_CASE("the usage text lists every subcommand of the contract", "[cmd_version]") {
    const std::string usage = usage_text();
    for (const char* line : {
             "keygate serve    [--config PATH] [--listen HOST:PORT] [--env-file PATH]\n",
             "keygate validate [--strict] [--format text|json] PATH\n",
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
