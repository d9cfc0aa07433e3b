// `keygate report`: key hygiene offline, from the key file and the state directory.
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "infra/state_store.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

using namespace keygate;
using namespace keygate::cli;
namespace fs = std::filesystem;

namespace {

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "keygate-report-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        const fs::path path = path_ / name;
        std::ofstream out(path, std::ios::binary);
        out << text;
        REQUIRE(out.good());
        return path.string();
    }
    std::string path(const std::string& name) const { return (path_ / name).string(); }

  private:
    fs::path path_;
};

/// Sets or unsets environment variables for one test, restoring them afterwards.
class ScopedEnv {
  public:
    ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> changes) {
        for (const auto& [name, value] : changes) {
            const char* old = std::getenv(name);
            saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
            if (value) {
                ::setenv(name, value, 1);
            } else {
                ::unsetenv(name);
            }
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        for (const auto& [name, value] : saved_) {
            if (value) {
                ::setenv(name.c_str(), value->c_str(), 1);
            } else {
                ::unsetenv(name.c_str());
            }
        }
    }

  private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

ScopedEnv clean_environment() {
    return ScopedEnv{{"API_KEY_ADMIN", nullptr},        {"API_KEY_ADMIN_FILE", nullptr},
                     {"API_KEY_DEFAULT", nullptr},      {"API_KEY_DEFAULT_FILE", nullptr},
                     {"KEYGATE_ENV_FILE", nullptr},     {"KEYGATE_HASH_PEPPER", nullptr},
                     {"KEYGATE_GRACE_PERIOD", nullptr}, {"KEYGATE_TRUSTED_PROXIES", nullptr},
                     {"KEYGATE_CONFIG", nullptr},       {"KEYGATE_STATE_DIR", nullptr}};
}

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run report(const Args& args) {
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = run_report(args, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
}

std::string hash_of(const std::string& text) {
    return "sha256:" + to_hex(sha256(text));
}

/// A key file: one key expiring on 2026-01-10, one unused, one rotated, one without limits.
std::string key_file() {
    return "api_keys:\n"
           "  - {id: soon, key_hash: \"" +
           hash_of("report-soon") +
           "\", tenant: acme, role: viewer,"
           " rate_limit: 10, expires_at: 2026-01-10}\n"
           "  - {id: idle, key_hash: \"" +
           hash_of("report-idle") +
           "\", tenant: acme, role: viewer,"
           " rate_limit: 10}\n"
           "  - id: rotated\n"
           "    key_hash: \"" +
           hash_of("report-rotated-new") +
           "\"\n"
           "    tenant: acme\n"
           "    role: viewer\n"
           "    rate_limit: 10\n"
           "    previous_keys:\n"
           "      - {key_hash: \"" +
           hash_of("report-rotated-old") +
           "\", expires_at: 2026-01-03}\n"
           "  - {id: open, key_hash: \"" +
           hash_of("report-open") + "\", role: admin}\n";
}

const TimePoint k_at = *parse_timestamp("2026-01-01T00:00:00Z");

/// The state a server would have saved: usage of three keys, one of them on its old secret.
void write_state(const std::string& dir) {
    PersistentState state;
    const auto first_seen = k_at - std::chrono::hours(24 * 60);
    state.usage.push_back({"soon", 5, first_seen, k_at - std::chrono::hours(1), 0, std::nullopt});
    state.usage.push_back(
        {"rotated", 9, first_seen, k_at - std::chrono::hours(2), 4, k_at - std::chrono::hours(2)});
    state.usage.push_back(
        {"open", 1, first_seen, k_at - std::chrono::hours(24 * 45), 0, std::nullopt});
    std::string error;
    REQUIRE(StateStore(dir).save(state, error));
}

} // namespace

TEST_CASE("report: text from the key file and the state directory", "[cmd_report]") {
    const auto env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", key_file());
    write_state(dir.path("state"));
    const Run run = report({"--config", config, "--state-dir", dir.path("state"), "--at",
                            "2026-01-01T00:00:00Z", "--expiring", "14d"});
    INFO(run.err);
    CHECK(run.code == 0);
    CHECK(run.err.empty());
    CHECK(run.out ==
          "keygate report for " + config +
              " at 2026-01-01T00:00:00Z: 4 keys\n"
              "expiring within 14d: 1\n"
              "  soon (tenant acme) expires 2026-01-10T00:00:00Z\n"
              "unused for 30d: 2\n"
              "  idle (tenant acme) never used\n"
              "  open (no tenant) last used 2025-11-17T00:00:00Z\n"
              "rotated-out secrets still accepted: 1\n"
              "  rotated (tenant acme) previous_keys until 2026-01-03T00:00:00Z: still used, "
              "4 requests, last 2025-12-31T22:00:00Z\n"
              "without a rate_limit: 1\n"
              "  open (no tenant) role admin\n");
}

TEST_CASE("report --format json: KEYGATE_STATE_DIR and the windows", "[cmd_report]") {
    const auto env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", key_file());
    write_state(dir.path("state"));
    const ScopedEnv state_dir{{"KEYGATE_STATE_DIR", dir.path("state").c_str()}};
    const Run run = report({"--config", config, "--format", "json", "--at", "2026-01-01T00:00:00Z",
                            "--expiring", "5d", "--unused", "50d"});
    INFO(run.err);
    REQUIRE(run.code == 0);
    const auto json = nlohmann::json::parse(run.out);
    CHECK(json["generated_at"] == "2026-01-01T00:00:00.000Z");
    CHECK(json["expiring_within"] == "5d");
    CHECK(json["unused_for"] == "50d");
    CHECK(json["usage_known"] == true);
    CHECK(json["expiring"].empty());
    REQUIRE(json["unused"].size() == 1);
    CHECK(json["unused"][0]["key_id"] == "idle");
    CHECK(json["old_secrets"][0]["requests"] == 4);
    CHECK(json["no_rate_limit"][0]["key_id"] == "open");
    CHECK(run.out.find("sha256") == std::string::npos);
}

TEST_CASE("report: without a state directory usage is unknown", "[cmd_report]") {
    const auto env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", key_file());
    const Run run = report({"--config", config, "--at", "2026-01-01T00:00:00Z"});
    CHECK(run.code == 0);
    CHECK(run.out.find("unused for 30d: unknown") != std::string::npos);
    const Run json = report({"--config", config, "--format", "json"});
    CHECK(json.code == 0);
    CHECK(nlohmann::json::parse(json.out)["unused"].is_null());
}

TEST_CASE("report: failures exit 1, usage errors 2", "[cmd_report]") {
    const auto env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", key_file());
    const std::string broken = dir.write("broken.yaml", "api_keys: [{id: x}]\n");

    const Run no_state = report({"--config", config, "--state-dir", dir.path("nowhere")});
    CHECK(no_state.code == 1);
    CHECK(no_state.out.empty());
    CHECK(no_state.err.find("keygate report: no state file '" + dir.path("nowhere") +
                            "/state.json'") == 0);

    dir.write("state.json", "{ not json");
    const Run corrupt = report({"--config", config, "--state-dir", dir.path("")});
    CHECK(corrupt.code == 1);
    CHECK(corrupt.err.find("is corrupt") != std::string::npos);

    const Run invalid = report({"--config", broken});
    CHECK(invalid.code == 1);
    CHECK(invalid.err.find(broken + ":1:") == 0);
    CHECK(invalid.err.find("keygate report: " + broken + " is not valid\n") != std::string::npos);

    for (const Args& args :
         {Args{"--format", "xml"}, Args{"--expiring", "soon"}, Args{"--unused", "0d"},
          Args{"--at", "later"}, Args{"extra"}, Args{"--bogus"}}) {
        INFO(args[0]);
        Args full = args;
        full.insert(full.end(), {"--config", config});
        const Run run = report(full);
        CHECK(run.code == 2);
        CHECK(run.out.empty());
        CHECK(run.err.find("keygate report: ") == 0);
        CHECK(run.err.find("\nusage: keygate report ") != std::string::npos);
    }
    const Run help = report({"--help"});
    CHECK(help.code == 0);
    CHECK(help.out.rfind("usage: keygate report ", 0) == 0);
}
