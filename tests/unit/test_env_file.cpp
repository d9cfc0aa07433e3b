// Env-file parsing (pure) and applying it to the process environment.
#include "infra/env_file.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;

namespace {

std::string value_of(const std::vector<EnvFileEntry>& entries, const std::string& name) {
    for (const auto& e : entries) {
        if (e.name == name)
            return e.value;
    }
    FAIL("no entry " << name);
    return {};
}

} // namespace

TEST_CASE("env file: assignments, comments, blanks and CRLF", "[env_file]") {
    const auto entries = parse_env_file("# a comment\n"
                                        "\n"
                                        "API_KEY_ADMIN=pk_ops_test0001\r\n"
                                        "   # indented comment\n"
                                        "  KEYGATE_LISTEN = 127.0.0.1:9000  \n"
                                        "export KEYGATE_LOG_LEVEL=debug\n"
                                        "EMPTY=\n");
    REQUIRE(entries);
    REQUIRE(entries->size() == 4);
    CHECK(value_of(*entries, "API_KEY_ADMIN") == "pk_ops_test0001");
    CHECK(value_of(*entries, "KEYGATE_LISTEN") == "127.0.0.1:9000");
    CHECK(value_of(*entries, "KEYGATE_LOG_LEVEL") == "debug");
    CHECK(value_of(*entries, "EMPTY").empty());
    CHECK((*entries)[0].line == 3);
}

TEST_CASE("env file: quoting and inline comments", "[env_file]") {
    const auto entries = parse_env_file("A=\"two words\"  # comment\n"
                                        "B='single $literal \\n'\n"
                                        "C=\"esc \\\"q\\\" \\\\ \\n end\"\n"
                                        "D=value # trailing comment\n"
                                        "E=a#b\n"
                                        "F=\"# not a comment\"\n"
                                        "G='='\n");
    REQUIRE(entries);
    CHECK(value_of(*entries, "A") == "two words");
    CHECK(value_of(*entries, "B") == "single $literal \\n");
    CHECK(value_of(*entries, "C") == "esc \"q\" \\ \n end");
    CHECK(value_of(*entries, "D") == "value");
    CHECK(value_of(*entries, "E") == "a#b");
    CHECK(value_of(*entries, "F") == "# not a comment");
    CHECK(value_of(*entries, "G") == "=");
}

TEST_CASE("env file: a name given twice keeps the last value", "[env_file]") {
    const auto entries = parse_env_file("A=1\nB=2\nA=3\n");
    REQUIRE(entries);
    REQUIRE(entries->size() == 2);
    CHECK(value_of(*entries, "A") == "3");
}

TEST_CASE("env file: errors name the line and never the value", "[env_file]") {
    const auto expect_error = [](std::string_view text, const std::string& message) {
        const auto entries = parse_env_file(text);
        REQUIRE_FALSE(entries);
        CHECK(entries.error().message == message);
    };
    expect_error("A=1\njust words\n", "line 2: expected NAME=value");
    expect_error("1A=x\n", "line 1: invalid variable name (expected [A-Za-z_][A-Za-z0-9_]*)");
    expect_error("SECRET=\"pk_acme_secretvalue\n",
                 "line 1: missing closing double quote in SECRET");
    expect_error("SECRET='pk_acme_secretvalue\n", "line 1: missing closing single quote in SECRET");
    expect_error("SECRET=\"pk_acme_x\" trailing\n",
                 "line 1: unexpected text after the closing quote in SECRET");
    expect_error(std::string_view("A=x\0y\n", 6), "line 1: NUL byte in the value of A");
}

TEST_CASE("env file: applying sets only variables not already set", "[env_file]") {
    const std::string set_name = "KEYGATE_TEST_ENVFILE_PRESET_" + std::to_string(::getpid());
    const std::string new_name = "KEYGATE_TEST_ENVFILE_NEW_" + std::to_string(::getpid());
    const std::string empty_name = "KEYGATE_TEST_ENVFILE_EMPTY_" + std::to_string(::getpid());
    ::setenv(set_name.c_str(), "from-process", 1);
    ::setenv(empty_name.c_str(), "", 1);
    const std::vector<EnvFileEntry> entries = {
        {set_name, "from-file", 1}, {new_name, "from-file", 2}, {empty_name, "from-file", 3}};
    const auto applied = apply_env_entries(entries);
    CHECK(applied == std::vector<std::string>{new_name});
    CHECK(std::string(std::getenv(set_name.c_str())) == "from-process");
    CHECK(std::string(std::getenv(new_name.c_str())) == "from-file");
    CHECK(std::string(std::getenv(empty_name.c_str())).empty());
    ::unsetenv(set_name.c_str());
    ::unsetenv(new_name.c_str());
    ::unsetenv(empty_name.c_str());
}

TEST_CASE("env file: reading a file", "[env_file]") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("keygate-envfile-" + std::to_string(::getpid()) + ".env");
    { std::ofstream(path) << "A=1\nB='2'\n"; }
    const auto entries = read_env_file(path.string());
    REQUIRE(entries);
    CHECK(value_of(*entries, "B") == "2");
    std::filesystem::remove(path);

    const auto missing = read_env_file(path.string());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message ==
          path.string() + ": cannot open env file: No such file or directory");
}
