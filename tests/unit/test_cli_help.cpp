// Help pages, the command tables they are printed from, the top-level dispatch and "did you
// mean". The pages are pinned by tests/data/help/COMMAND.txt (KEYGATE_UPDATE_GOLDEN=1
// rewrites them; review the diff).
#include "cli/cli_commands.hpp"
#include "cli/cli_help.hpp"
#include "cli/cli_suggest.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace keygate::cli;

namespace {

std::string golden_path(std::string_view command) {
    return std::string(KEYGATE_TEST_DATA) + "/help/" + std::string(command) + ".txt";
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Run {
    int code;
    std::string out, err;
};

Run run(const Args& args) {
    std::istringstream in;
    std::ostringstream out, err;
    const int code = dispatch(args, in, out, err);
    return {code, out.str(), err.str()};
}

} // namespace

TEST_CASE("each command's help page matches its golden file", "[cli_help]") {
    const bool update = std::getenv("KEYGATE_UPDATE_GOLDEN") != nullptr;
    for (const CommandEntry& entry : command_entries()) {
        const CommandSpec& spec = entry.spec();
        INFO(spec.name);
        const std::string text = help_text(spec);
        if (update)
            std::ofstream(golden_path(spec.name), std::ios::binary) << text;
        CHECK(text == read_text(golden_path(spec.name)));
    }
}

TEST_CASE("every option of a table shows in its synopsis, with a default or required",
          "[cli_help]") {
    for (const CommandEntry& entry : command_entries()) {
        const CommandSpec& spec = entry.spec();
        CHECK(spec.exit_codes.size() >= 2);
        for (const OptionSpec& option : spec.options) {
            INFO(std::string(spec.name) + " " + std::string(option.name));
            CHECK(spec.synopsis.find(option.name) != std::string_view::npos);
            CHECK_FALSE(option.help.empty());
            if (option.takes_value)
                CHECK((option.required || !option.default_value.empty()));
            // A required option has no default; help would contradict itself.
            if (option.required)
                CHECK(option.default_value.empty());
        }
    }
}

TEST_CASE("help pages list options with default and variable, and exit codes", "[cli_help]") {
    const std::string serve = help_text(serve_command());
    CHECK(serve.starts_with("usage: keygate serve [--config PATH] "));
    CHECK_THAT(serve, Catch::Contains("--config PATH") &&
                          Catch::Contains("(default: keys.yaml; env: KEYGATE_CONFIG)\n") &&
                          Catch::Contains("(default: 127.0.0.1:8090; env: KEYGATE_LISTEN)\n") &&
                          Catch::Contains("\nexit codes:\n  0  ") &&
                          Catch::Contains("\n  2  usage error") &&
                          Catch::Contains("  -h, --help  "));
    const std::string check = help_text(check_command());
    CHECK_THAT(check, Catch::Contains("(required)\n") && Catch::Contains("(default: GET)\n"));
}

TEST_CASE("keygate CMD --help and keygate help CMD print the same page", "[cli_help]") {
    for (const CommandEntry& entry : command_entries()) {
        const std::string name(entry.spec().name);
        if (name == "serve")
            continue; // serve prints on the process's own stdout
        INFO(name);
        const Run help = run({"help", name});
        CHECK(help.code == k_exit_ok);
        CHECK(help.out == help_text(entry.spec()));
        const Run flag = run({name, "--help"});
        CHECK(flag.code == k_exit_ok);
        CHECK(flag.out == help.out);
    }
    CHECK(run({"help"}).out == usage_text());
    CHECK(run({"--help"}).code == k_exit_ok);
}

TEST_CASE("an unknown command is exit 2 with a suggestion", "[cli_help]") {
    const Run serv = run({"serv"});
    CHECK(serv.code == k_exit_usage);
    CHECK(serv.out.empty());
    CHECK(serv.err == "keygate: unknown command 'serv' (did you mean 'serve'?)\n" + usage_text());
    const Run far = run({"frobnicate"});
    CHECK(far.code == k_exit_usage);
    CHECK(far.err.starts_with("keygate: unknown command 'frobnicate'\n"));
    const Run help = run({"help", "valdate"});
    CHECK(help.code == k_exit_usage);
    CHECK(help.err.starts_with("keygate: unknown command 'valdate' (did you mean 'validate'?)\n"));
    CHECK(run({}).code == k_exit_usage);
}

TEST_CASE("an unknown option is exit 2 with a suggestion", "[cli_help]") {
    const Run run_check = run({"check", "--confg", "k.yaml", "--key", "x"});
    CHECK(run_check.code == k_exit_usage);
    CHECK(run_check.err.starts_with(
        "keygate check: unknown option '--confg' (did you mean '--config'?)\nusage: "));
    const Run hash = run({"hash", "--hamc"});
    CHECK(hash.code == k_exit_usage);
    CHECK(hash.err.starts_with("keygate hash: unknown option '--hamc' (did you mean '--hmac'?)\n"));
}

TEST_CASE("edit distance and the closest name", "[cli_suggest]") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("serv", "serve") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("--listn", "--listen") == 1);
    const std::vector<std::string_view> names{"--config", "--listen", "--env-file"};
    CHECK(closest_name("--listn", names) == "--listen");
    CHECK(closest_name("--lisen", names) == "--listen");
    CHECK(closest_name("--conifg", names) == "--config");
    CHECK_FALSE(closest_name("--port", names));
    CHECK_FALSE(closest_name("--config", names)); // an exact name is no suggestion
    const std::vector<std::string_view> short_names{"ab", "xyz"};
    CHECK_FALSE(closest_name("cd", short_names));
}
