// The subcommands' shared argument parser.
#include "cli/cli_args.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace keygate::cli;

TEST_CASE("options take their value from the next argument or after '='", "[cli_args]") {
    const auto parsed = parse_args({"--config", "k.yaml", "--key=-", "--strict", "path"},
                                   {{"--config", true}, {"--key", true}, {"--strict", false}});
    REQUIRE(parsed);
    CHECK(parsed->value("--config") == "k.yaml");
    CHECK(parsed->value("--key") == "-");
    CHECK(parsed->has("--strict"));
    CHECK(parsed->value("--strict") == "");
    CHECK_FALSE(parsed->has("--other"));
    CHECK(parsed->value_or("--other", "dflt") == "dflt");
    CHECK(parsed->positionals == Args{"path"});
    CHECK_FALSE(parsed->help);
}

TEST_CASE("a value may start with a dash, '-' and '--' are positionals", "[cli_args]") {
    const auto parsed =
        parse_args({"--key", "-", "-", "--", "--not-an-option", "--key=x"}, {{"--key", true}});
    REQUIRE(parsed);
    CHECK(parsed->value("--key") == "-");
    CHECK(parsed->positionals == Args{"-", "--not-an-option", "--key=x"});
    const auto dashed = parse_args({"--path", "--weird"}, {{"--path", true}});
    REQUIRE(dashed);
    CHECK(dashed->value("--path") == "--weird");
    const auto empty = parse_args({"--key="}, {{"--key", true}});
    REQUIRE(empty);
    CHECK(empty->value("--key") == "");
}

TEST_CASE("the help flags (--help, -h) are always understood", "[cli_args]") {
    CHECK(parse_args({"--help"}, {})->help);
    CHECK(parse_args({"-h"}, {})->help);
}

TEST_CASE("bad command lines are usage errors", "[cli_args]") {
    const auto error = [](const Args& args) {
        const auto parsed = parse_args(args, {{"--config", true}, {"--write", false}});
        REQUIRE_FALSE(parsed);
        return parsed.error().message;
    };
    CHECK(error({"--nope"}) == "unknown option '--nope'");
    CHECK(error({"--nope=1"}) == "unknown option '--nope'");
    CHECK(error({"-x"}) == "unknown option '-x'");
    CHECK(error({"--config"}) == "option '--config' needs a value");
    CHECK(error({"--write=yes"}) == "option '--write' takes no value");
    CHECK(error({"--write", "--write"}) == "option '--write' given twice");
    CHECK(error({"--config", "a", "--config=b"}) == "option '--config' given twice");
}

TEST_CASE("usage_error and operation_failed print and return the exit code", "[cli_args]") {
    std::ostringstream err;
    CHECK(usage_error(err, "check", "--key is required", "keygate check ...") == k_exit_usage);
    CHECK(err.str() == "keygate check: --key is required\nusage: keygate check ...\n");
    std::ostringstream err2;
    CHECK(operation_failed(err2, "rotate", "cannot read x") == k_exit_failed);
    CHECK(err2.str() == "keygate rotate: cannot read x\n");
}
