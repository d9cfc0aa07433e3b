// `keygate generate`: the key format, the printed hash and the ready-to-paste entry.
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <vector>

using namespace keygate;
using namespace keygate::cli;

namespace {

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run generate(const Args& args) {
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = run_generate(args, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

} // namespace

TEST_CASE("generate prints the key, its hash and an entry holding the hash only",
          "[cmd_generate]") {
    const Run run = generate({"--tenant", "acme_corp"});
    REQUIRE(run.code == k_exit_ok);
    CHECK(run.err.empty());
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == 9);
    CHECK(lines[0] == "# key 1 of 1 for tenant acme_corp: shown once, store it in your secret "
                      "manager now");
    const std::string& key = lines[1];
    CHECK(key.starts_with("pk_acme_corp_"));
    CHECK(key.size() == 13 + 36);
    CHECK(classify_key(key) == KeyShape::checksum_ok);
    const Digest digest = sha256(key);
    const std::string hash = "sha256:" + to_hex(digest);
    CHECK(lines[2] == hash);
    CHECK(lines[3] == "# paste under api_keys: (role viewer is the least-privileged default; "
                      "change it as needed)");
    CHECK(lines[4] == "  - id: k-" + to_hex(digest).substr(0, 12));
    CHECK(lines[5] == "    key_hash: \"" + hash + "\"");
    CHECK(lines[6] == "    tenant: \"acme_corp\"");
    CHECK(lines[7] == "    role: viewer");
    CHECK(lines[8] == "    description: \"TODO: who or what uses this key\"");
    // The entry never holds the plaintext.
    CHECK(run.out.find(key) == run.out.find('\n') + 1);
    CHECK(run.out.rfind(key) == run.out.find(key));
}

TEST_CASE("generate --prefix and --count", "[cmd_generate]") {
    const Run run = generate({"--tenant", "globex", "--prefix", "sk", "--count=3"});
    REQUIRE(run.code == k_exit_ok);
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == 3 * 9 + 2); // blank line between keys
    std::set<std::string> keys;
    for (int i = 0; i < 3; ++i) {
        const std::size_t first = static_cast<std::size_t>(i) * 10;
        CHECK(lines[first] == "# key " + std::to_string(i + 1) +
                                  " of 3 for tenant globex: shown once, store it in your "
                                  "secret manager now");
        const std::string& key = lines[first + 1];
        CHECK(key.starts_with("sk_globex_"));
        CHECK(classify_key(key) == KeyShape::checksum_ok);
        CHECK(lines[first + 2] == "sha256:" + to_hex(sha256(key)));
        if (i < 2)
            CHECK(lines[first + 9].empty());
        keys.insert(key);
    }
    CHECK(keys.size() == 3);
}

TEST_CASE("generate --count 1000 gives distinct keys", "[cmd_generate]") {
    const Run run = generate({"--tenant", "acme", "--count", "1000"});
    REQUIRE(run.code == k_exit_ok);
    std::set<std::string> keys;
    for (const std::string& line : lines_of(run.out)) {
        if (line.starts_with("pk_acme_")) {
            REQUIRE(classify_key(line) == KeyShape::checksum_ok);
            keys.insert(line);
        }
    }
    CHECK(keys.size() == 1000);
}

TEST_CASE("generate usage errors exit 2 with nothing on stdout", "[cmd_generate]") {
    const auto usage = std::string("usage: keygate generate --tenant NAME [--prefix pk] "
                                   "[--count N]\n");
    const auto check_usage = [&](const Args& args, const std::string& message) {
        const Run run = generate(args);
        CHECK(run.code == k_exit_usage);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate generate: " + message + "\n" + usage);
    };
    check_usage({}, "--tenant is required");
    check_usage({"--tenant"}, "option '--tenant' needs a value");
    check_usage({"--tenant", "a", "--color"}, "unknown option '--color'");
    check_usage({"--tenant", "a", "--tenant", "b"}, "option '--tenant' given twice");
    check_usage({"--tenant", "a", "extra"}, "unexpected argument 'extra'");
    for (const char* count : {"0", "-1", "10001", "3x", "", " 3", "0x10"}) {
        check_usage({"--tenant", "a", "--count", count},
                    "--count must be a whole number from 1 to 10000");
    }
    check_usage({"--tenant", "acme corp"},
                "tenant must be 1-64 characters of [A-Za-z0-9_-], starting with a letter or "
                "digit");
    check_usage({"--tenant", "acme", "--prefix", "p_k"},
                "prefix must be 1-16 characters of [A-Za-z0-9]");
}

TEST_CASE("generate --help prints its usage", "[cmd_generate]") {
    const Run run = generate({"--help"});
    CHECK(run.code == k_exit_ok);
    CHECK(run.out.starts_with("usage: keygate generate --tenant NAME [--prefix pk] [--count N]\n"));
    CHECK(run.out == help_text(generate_command()));
}
