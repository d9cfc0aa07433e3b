// `keygate probe`: exit codes and the one line on stderr.
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

using namespace keygate::cli;

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run probe(const Args& args) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_probe(args, out, err);
    return {code, out.str(), err.str()};
}

} // namespace

TEST_CASE("probe: usage errors exit 2 and say what is wrong", "[cmd_probe]") {
    const std::pair<Args, const char*> cases[] = {
        {{"--url", "ftp://x/"}, "--url: the URL must start with http:// or unix:"},
        {{"--url", "http://127.0.0.1:1/", "--timeout", "0s"}, "--timeout must be"},
        {{"--url", "http://127.0.0.1:1/", "--timeout", "2"}, "--timeout must be"},
        {{"--url", "http://127.0.0.1:1/", "--timeout", "2d"}, "--timeout must be"},
        {{"--url", "http://127.0.0.1:1/", "extra"}, "unexpected argument 'extra'"},
        {{"--uri", "http://127.0.0.1:1/"}, "--uri"},
    };
    for (const auto& [args, message] : cases) {
        INFO(message);
        const Run run = probe(args);
        CHECK(run.code == k_exit_usage);
        CHECK_THAT(run.err, Catch::StartsWith("keygate probe: ") && Catch::Contains(message));
        CHECK(run.out.empty());
    }
}

TEST_CASE("probe --help describes the exit codes", "[cmd_probe]") {
    const Run run = probe({"--help"});
    CHECK(run.code == k_exit_ok);
    CHECK_THAT(run.out, Catch::StartsWith("usage: keygate probe [--url "));
    CHECK_THAT(run.out, Catch::Contains("exit codes:\n  0  a 2xx answer\n  1  any other answer"));
    CHECK(run.out == help_text(probe_command()));
}

TEST_CASE("probe: a refused connection exits 1 with one line", "[cmd_probe]") {
    const Run run = probe({"--url", "unix:/nonexistent/keygate.sock:/readyz", "--timeout", "1s"});
    CHECK(run.code == k_exit_failed);
    CHECK(run.err ==
          "keygate probe: connect to unix:/nonexistent/keygate.sock: No such file or directory\n");
}

TEST_CASE("the usage text lists probe", "[cmd_probe]") {
    CHECK_THAT(usage_text(), Catch::Contains("keygate probe    [--url "));
}

namespace {

/// Sets KEYGATE_LISTEN for one scope, then puts the previous value back.
struct ListenVariable {
    std::optional<std::string> saved;
    explicit ListenVariable(const char* value) {
        if (const char* old = std::getenv("KEYGATE_LISTEN"))
            saved = old;
        ::setenv("KEYGATE_LISTEN", value, 1);
    }
    ~ListenVariable() {
        if (saved)
            ::setenv("KEYGATE_LISTEN", saved->c_str(), 1);
        else
            ::unsetenv("KEYGATE_LISTEN");
    }
};

} // namespace

TEST_CASE("probe without --url asks /readyz where KEYGATE_LISTEN listens", "[cmd_probe]") {
    {
        const ListenVariable listen("unix:/nonexistent/keygate.sock");
        const Run run = probe({"--timeout", "1s"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.err == "keygate probe: connect to unix:/nonexistent/keygate.sock: No such "
                         "file or directory\n");
    }
    {
        const ListenVariable listen(":0");
        const Run run = probe({});
        CHECK(run.code == k_exit_usage);
        CHECK_THAT(run.err, Catch::StartsWith("keygate probe: KEYGATE_LISTEN: port 0"));
    }
    {
        const ListenVariable listen("nonsense");
        const Run run = probe({});
        CHECK(run.code == k_exit_usage);
        CHECK_THAT(run.err, Catch::StartsWith("keygate probe: KEYGATE_LISTEN: "));
    }
}
