// `keygate validate`: output lines, summary, exit codes, --strict, --format json, usage errors.
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using keygate::cli::help_text;
using keygate::cli::run_validate;
using keygate::cli::validate_command;

namespace {

/// A temporary directory that is also the working directory for the scope, so that
/// relative paths can be passed as given.
class TempWorkDir {
  public:
    TempWorkDir() : old_(fs::current_path()) {
        std::string pattern = (fs::temp_directory_path() / "keygate-validate-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
        fs::current_path(path_);
    }
    TempWorkDir(const TempWorkDir&) = delete;
    TempWorkDir& operator=(const TempWorkDir&) = delete;
    ~TempWorkDir() {
        std::error_code ec;
        fs::current_path(old_, ec);
        fs::remove_all(path_, ec);
    }
    void write(const std::string& name, const std::string& text) const {
        fs::create_directories((path_ / name).parent_path());
        std::ofstream(path_ / name, std::ios::binary) << text;
    }

  private:
    fs::path old_;
    fs::path path_;
};

class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value != nullptr) {
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

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run validate(const keygate::cli::Args& args) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_validate(args, out, err);
    return {code, out.str(), err.str()};
}

constexpr const char* k_hash_1 =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* k_usage = "usage: keygate validate [--strict] [--format text|json] "
                                "[--warn-expiring DURATION] [--at TIME] PATH\n";

std::string valid_file() {
    return std::string("api_keys:\n  - {key_hash: \"") + k_hash_1 + "\", role: admin}\n";
}

std::string warned_file() {
    return "api_keys:\n"
           "  - key: \"pk_acme_test0001_fake_Zq8XbL2mRt4Kd9VwN3pH\"\n"
           "    role: admin\n"
           "    expires_at: 2020-01-01\n";
}

std::string broken_file() {
    return std::string("version: 2\napi_keys:\n  - {key_hash: \"") + k_hash_1 + "\", role: boss}\n";
}

} // namespace

TEST_CASE("validate: a valid file prints its summary and exits 0", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", valid_file());
    const Run r = validate({"keys.yaml"});
    CHECK(r.code == 0);
    CHECK(r.out == "keys.yaml: ok, 1 key\n");
    CHECK(r.err.empty());

    dir.write("none.yaml", "api_keys: []\n");
    CHECK(validate({"none.yaml"}).out == "none.yaml: ok, 0 keys\n");
}

TEST_CASE("validate: warnings are printed, and exit 0 without --strict", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("sub/keys.yaml", warned_file());
    const Run r = validate({"./sub/keys.yaml"});
    CHECK(r.code == 0);
    CHECK(r.out == "./sub/keys.yaml:2:10: warning: plaintext 'key': store its hash in 'key_hash' "
                   "instead (see 'keygate hash')\n"
                   "./sub/keys.yaml:4:17: warning: key already expired at 2020-01-01T00:00:00Z\n"
                   "./sub/keys.yaml: ok, 1 key, 2 warnings\n");
}

TEST_CASE("validate --strict: warnings become errors and exit 1", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", warned_file());
    const Run r = validate({"--strict", "keys.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out == "keys.yaml:2:10: error: plaintext 'key': store its hash in 'key_hash' instead "
                   "(see 'keygate hash')\n"
                   "keys.yaml:4:17: error: key already expired at 2020-01-01T00:00:00Z\n"
                   "keys.yaml: invalid, 2 errors\n");
    dir.write("clean.yaml", valid_file());
    CHECK(validate({"clean.yaml", "--strict"}).code == 0);
}

TEST_CASE("validate: an invalid file lists every error and exits 1", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", broken_file());
    const Run r = validate({"keys.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out == "keys.yaml:1:10: error: unsupported version 2 (this keygate reads version 1)\n"
                   "keys.yaml:3:97: error: unknown role 'boss'\n"
                   "keys.yaml: invalid, 2 errors\n");
    CHECK(r.err.empty());
}

TEST_CASE("validate: errors and warnings together", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml",
              warned_file() + "  - {key_hash: \"" + k_hash_1 + "\", role: admin, rate_limit: 0}\n");
    const Run r = validate({"keys.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out.ends_with("keys.yaml: invalid, 1 error, 2 warnings\n"));
}

TEST_CASE("validate: an unreadable file is invalid, with a place of 0:0", "[cmd_validate]") {
    TempWorkDir dir;
    const Run r = validate({"missing.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out == "missing.yaml:0:0: error: cannot open the file (no such file or directory)\n"
                   "missing.yaml: invalid, 1 error\n");
}

TEST_CASE("validate --format json prints an array and no summary", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", broken_file());
    const Run r = validate({"--format", "json", "keys.yaml"});
    CHECK(r.code == 1);
    const auto json = nlohmann::json::parse(r.out);
    REQUIRE(json.is_array());
    REQUIRE(json.size() == 2);
    CHECK(json[0] ==
          nlohmann::json{{"file", "keys.yaml"},
                         {"line", 1},
                         {"column", 10},
                         {"severity", "error"},
                         {"message", "unsupported version 2 (this keygate reads version 1)"}});
    CHECK(json[1]["message"] == "unknown role 'boss'");
    // Keys in the documented order, one line.
    CHECK(r.out.starts_with("[{\"file\":\"keys.yaml\",\"line\":1,\"column\":10,\"severity\":"));
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);

    dir.write("ok.yaml", valid_file());
    const Run ok = validate({"--format=json", "ok.yaml"});
    CHECK(ok.code == 0);
    CHECK(ok.out == "[]\n");
}

TEST_CASE("validate --format json --strict: warnings have severity error", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", warned_file());
    const Run plain = validate({"--format", "json", "keys.yaml"});
    CHECK(plain.code == 0);
    CHECK(nlohmann::json::parse(plain.out)[0]["severity"] == "warning");
    const Run strict = validate({"--format", "json", "--strict", "keys.yaml"});
    CHECK(strict.code == 1);
    const auto json = nlohmann::json::parse(strict.out);
    REQUIRE(json.size() == 2);
    CHECK(json[0]["severity"] == "error");
    CHECK(json[1]["severity"] == "error");
}

TEST_CASE("validate --format text is the default format", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", valid_file());
    CHECK(validate({"--format", "text", "keys.yaml"}).out == "keys.yaml: ok, 1 key\n");
}

TEST_CASE("validate reads the pepper from KEYGATE_HASH_PEPPER", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", "api_keys:\n  - {key_hash: \"hmac-sha256:11111111111111111111111111111"
                           "11111111111111111111111111111111111\", role: admin}\n");
    {
        const ScopedEnv pepper("KEYGATE_HASH_PEPPER", "test-pepper-not-a-secret");
        CHECK(validate({"keys.yaml"}).code == 0);
    }
    const ScopedEnv empty("KEYGATE_HASH_PEPPER", "");
    const Run r = validate({"keys.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out.find("'hmac-sha256:' hash needs KEYGATE_HASH_PEPPER, which is not set") !=
          std::string::npos);
}

TEST_CASE("validate: usage errors exit 2 with the usage on stderr", "[cmd_validate]") {
    TempWorkDir dir;
    dir.write("keys.yaml", valid_file());
    const auto check_usage = [&](const keygate::cli::Args& args, const std::string& message) {
        const Run r = validate(args);
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK(r.err == "keygate validate: " + message + "\n" + std::string(k_usage));
    };
    check_usage({}, "missing PATH");
    check_usage({"--strict"}, "missing PATH");
    check_usage({"a.yaml", "b.yaml"}, "give exactly one PATH");
    check_usage({"--verbose", "keys.yaml"}, "unknown option '--verbose'");
    check_usage({"--format", "xml", "keys.yaml"}, "--format must be text or json");
    check_usage({"keys.yaml", "--format"}, "option '--format' needs a value");
    check_usage({"--strict=yes", "keys.yaml"}, "option '--strict' takes no value");
}

TEST_CASE("validate --help prints its help page and exits 0", "[cmd_validate]") {
    const Run r = validate({"--help"});
    CHECK(r.code == 0);
    CHECK(r.out.starts_with(k_usage));
    CHECK(r.out == help_text(validate_command()));
}
