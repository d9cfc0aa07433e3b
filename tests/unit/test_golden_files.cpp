// Golden files: each tests/data/invalid/NAME.yaml has NAME.expected, the exact text output of
// `keygate validate NAME.yaml`; every tests/data/valid/*.yaml validates with no error;
// tests/data/expiring/ pins `--warn-expiring` in both formats.
#include "cli/commands.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using keygate::cli::run_validate;

namespace {

/// Sets (or unsets) an environment variable for one scope.
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

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& extension) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == extension)
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

/// The validate output for `path`, with the full path shortened to the file's name so that
/// the expected text does not depend on where the checkout lives.
std::string validate_output(const fs::path& path, int& exit_code,
                            std::vector<std::string> options = {}) {
    std::ostringstream out;
    std::ostringstream err;
    options.push_back(path.string());
    exit_code = run_validate(options, out, err);
    std::string text = out.str();
    const std::string full = path.string();
    const std::string name = path.filename().string();
    for (std::size_t at = text.find(full); at != std::string::npos; at = text.find(full, at)) {
        text.replace(at, full.size(), name);
        at += name.size();
    }
    return text;
}

} // namespace

TEST_CASE("every invalid key file prints exactly its .expected text", "[golden]") {
    const ScopedEnv no_pepper("KEYGATE_HASH_PEPPER", nullptr);
    const fs::path dir = fs::path(KEYGATE_TEST_DATA) / "invalid";
    const auto files = files_with_extension(dir, ".yaml");
    REQUIRE(files.size() >= 30);
    for (const fs::path& file : files) {
        fs::path expected_path = file;
        expected_path.replace_extension(".expected");
        INFO("golden file " << file.filename().string());
        REQUIRE(fs::exists(expected_path));
        int exit_code = -1;
        const std::string output = validate_output(file, exit_code);
        CHECK(output == read_text(expected_path));
        // Files with errors exit 1; the one file holding only warnings exits 0.
        const bool has_error = output.find(": error: ") != std::string::npos;
        CHECK(exit_code == (has_error ? 1 : 0));
    }
}

TEST_CASE("every .expected file has its .yaml", "[golden]") {
    const fs::path dir = fs::path(KEYGATE_TEST_DATA) / "invalid";
    for (const fs::path& expected : files_with_extension(dir, ".expected")) {
        fs::path yaml = expected;
        yaml.replace_extension(".yaml");
        INFO(expected.filename().string());
        CHECK(fs::exists(yaml));
    }
}

TEST_CASE("every valid key file validates without an error", "[golden]") {
    // hmac_keys.yaml needs a pepper; it changes nothing for the other files.
    const ScopedEnv pepper("KEYGATE_HASH_PEPPER", "test-pepper-not-a-secret");
    const fs::path dir = fs::path(KEYGATE_TEST_DATA) / "valid";
    const auto files = files_with_extension(dir, ".yaml");
    REQUIRE(files.size() >= 4);
    for (const fs::path& file : files) {
        INFO("valid file " << file.filename().string());
        int exit_code = -1;
        const std::string output = validate_output(file, exit_code);
        CHECK(exit_code == 0);
        CHECK(output.find(": error: ") == std::string::npos);
        CHECK(output.find(file.filename().string() + ": ok, ") != std::string::npos);
    }
}

TEST_CASE("the repository's keys.example.yaml validates without an error", "[golden]") {
    const ScopedEnv no_pepper("KEYGATE_HASH_PEPPER", nullptr);
    const fs::path example = fs::path(KEYGATE_TEST_DATA) / ".." / ".." / "keys.example.yaml";
    if (!fs::exists(example))
        return; // written by another part of the project
    int exit_code = -1;
    const std::string output = validate_output(example, exit_code);
    INFO(output);
    CHECK(exit_code == 0);
    CHECK(output.find(": error: ") == std::string::npos);
}

TEST_CASE("validate --warn-expiring 14d prints exactly expiring.expected", "[golden]") {
    const fs::path dir = fs::path(KEYGATE_TEST_DATA) / "expiring";
    const fs::path file = dir / "expiring.yaml";
    const std::vector<std::string> at = {"--at", "2026-01-01T00:00:00Z"};
    int exit_code = -1;

    std::vector<std::string> text_options = at;
    text_options.insert(text_options.end(), {"--warn-expiring", "14d"});
    CHECK(validate_output(file, exit_code, text_options) == read_text(dir / "expiring.expected"));
    CHECK(exit_code == 0); // warnings only: the exit code is unchanged

    std::vector<std::string> json_options = text_options;
    json_options.insert(json_options.end(), {"--format", "json"});
    CHECK(validate_output(file, exit_code, json_options) ==
          read_text(dir / "expiring.json.expected"));
    CHECK(exit_code == 0);

    // --strict makes them errors, as every other warning.
    std::vector<std::string> strict_options = text_options;
    strict_options.push_back("--strict");
    const std::string strict = validate_output(file, exit_code, strict_options);
    CHECK(exit_code == 1);
    CHECK(strict.find(
              "expiring.yaml:7:17: error: key expires at 2026-01-04T00:00:00Z, within 14d\n") !=
          std::string::npos);
    CHECK(strict.find("expiring.yaml: invalid, 4 errors\n") != std::string::npos);

    // Without the flag only the expired key warns; a shorter window names fewer keys.
    const std::string plain = validate_output(file, exit_code, at);
    CHECK(plain.find("within") == std::string::npos);
    CHECK(plain.find("expiring.yaml: ok, 8 keys, 1 warning\n") != std::string::npos);
    std::vector<std::string> short_options = at;
    short_options.insert(short_options.end(), {"--warn-expiring", "3d"});
    const std::string short_window = validate_output(file, exit_code, short_options);
    CHECK(short_window.find("expiring.yaml:7:17: warning: key expires at "
                            "2026-01-04T00:00:00Z, within 3d\n") != std::string::npos);
    CHECK(short_window.find("expiring.yaml: ok, 8 keys, 2 warnings\n") != std::string::npos);
}

TEST_CASE("validate --warn-expiring and --at: bad values are usage errors", "[golden]") {
    const fs::path file = fs::path(KEYGATE_TEST_DATA) / "expiring" / "expiring.yaml";
    for (const std::vector<std::string>& options :
         {std::vector<std::string>{"--warn-expiring", "soon"},
          std::vector<std::string>{"--warn-expiring", "0s"},
          std::vector<std::string>{"--warn-expiring", "-1d"},
          std::vector<std::string>{"--at", "tomorrow"}}) {
        INFO(options[0] << " " << options[1]);
        std::ostringstream out;
        std::ostringstream err;
        std::vector<std::string> args = options;
        args.push_back(file.string());
        CHECK(run_validate(args, out, err) == 2);
        CHECK(out.str().empty());
        CHECK(err.str().rfind("keygate validate: --", 0) == 0);
    }
}
