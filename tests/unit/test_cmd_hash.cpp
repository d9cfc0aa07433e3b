// `keygate hash`: exact outputs, newline handling, exit codes.
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <sstream>

using namespace keygate;
using namespace keygate::cli;

namespace {

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run hash(const Args& args, const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = run_hash(args, in, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
}

/// Sets (or unsets) an environment variable for one test and restores it afterwards.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

const std::string k_key = "pk_test_0000000000000000000000000000000000";
const std::string k_expected = "sha256:" + to_hex(sha256(k_key)) + "\n";

} // namespace

TEST_CASE("hash prints sha256:<hex> of the key on stdin", "[cmd_hash]") {
    const Run run = hash({}, k_key);
    CHECK(run.code == k_exit_ok);
    CHECK(run.out == k_expected);
    CHECK(run.err.empty());
    CHECK(hash({}, "abc").out ==
          "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
}

TEST_CASE("hash strips exactly one trailing newline", "[cmd_hash]") {
    CHECK(hash({}, k_key + "\n").out == k_expected);
    CHECK(hash({}, k_key + "\r\n").out == k_expected);
    // Spaces belong to the key.
    CHECK(hash({}, k_key + " \n").out == "sha256:" + to_hex(sha256(k_key + " ")) + "\n");
    CHECK(hash({}, " " + k_key).out == "sha256:" + to_hex(sha256(" " + k_key)) + "\n");
}

TEST_CASE("hash refuses empty, multi-line and control-character input", "[cmd_hash]") {
    for (const std::string input : {"", "\n", "\r\n"}) {
        const Run run = hash({}, input);
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate hash: no key on stdin\n");
    }
    for (const std::string& input : {k_key + "\n\n", k_key + "\nsecond", std::string("a\rb")}) {
        const Run run = hash({}, input);
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate hash: expected one key on one line of stdin\n");
    }
    const Run tab = hash({}, "pk\ttest");
    CHECK(tab.code == k_exit_failed);
    CHECK(tab.err == "keygate hash: the key contains a control character\n");
    const Run huge = hash({}, std::string(9000, 'k'));
    CHECK(huge.code == k_exit_failed);
    CHECK(huge.err == "keygate hash: the key on stdin is longer than 8192 bytes\n");
    CHECK(hash({}, std::string(8192, 'k') + "\r\n").code == k_exit_ok);
}

TEST_CASE("hash --hmac keys the digest with KEYGATE_HASH_PEPPER", "[cmd_hash]") {
    const ScopedEnv pepper("KEYGATE_HASH_PEPPER", "test-pepper-not-secret");
    const Run run = hash({"--hmac"}, k_key + "\n");
    CHECK(run.code == k_exit_ok);
    CHECK(run.out == "hmac-sha256:" + to_hex(hmac_sha256("test-pepper-not-secret", k_key)) + "\n");
    CHECK(run.err.empty());
}

TEST_CASE("hash --hmac without a pepper fails", "[cmd_hash]") {
    for (const char* value : {static_cast<const char*>(nullptr), ""}) {
        const ScopedEnv pepper("KEYGATE_HASH_PEPPER", value);
        const Run run = hash({"--hmac"}, k_key);
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate hash: --hmac needs KEYGATE_HASH_PEPPER to be set\n");
    }
}

TEST_CASE("hash usage errors exit 2 and never echo a key argument", "[cmd_hash]") {
    const Run unknown = hash({"--sha512"}, k_key);
    CHECK(unknown.code == k_exit_usage);
    CHECK(unknown.out.empty());
    CHECK(unknown.err == "keygate hash: unknown option '--sha512'\n"
                         "usage: keygate hash [--hmac]   (reads one key on stdin)\n");
    const Run positional = hash({k_key}, "");
    CHECK(positional.code == k_exit_usage);
    CHECK(positional.err.find(k_key) == std::string::npos);
    CHECK(positional.err.starts_with(
        "keygate hash: the key is read on stdin, not from the arguments\n"));
    const Run valued = hash({"--hmac=yes"}, k_key);
    CHECK(valued.code == k_exit_usage);
    CHECK(valued.err.starts_with("keygate hash: option '--hmac' takes no value\n"));
}

TEST_CASE("hash --help prints its help page on stdout", "[cmd_hash]") {
    const Run run = hash({"--help"}, "");
    CHECK(run.code == k_exit_ok);
    CHECK(run.out.starts_with("usage: keygate hash [--hmac]   (reads one key on stdin)\n"));
    CHECK(run.out == help_text(hash_command()));
}
