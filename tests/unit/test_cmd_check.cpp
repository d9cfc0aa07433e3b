// `keygate check`: the server's decision offline, printed as the /v1/authorize JSON object.
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
        std::string pattern = (fs::temp_directory_path() / "keygate-check-XXXXXX").string();
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

/// The environment variables that would change what check loads: unset for every test.
ScopedEnv clean_environment() {
    return ScopedEnv{{"API_KEY_ADMIN", nullptr},        {"API_KEY_ADMIN_FILE", nullptr},
                     {"API_KEY_DEFAULT", nullptr},      {"API_KEY_DEFAULT_FILE", nullptr},
                     {"KEYGATE_DEFAULT_ROLE", nullptr}, {"KEYGATE_DEFAULT_TENANT", nullptr},
                     {"KEYGATE_ENV_FILE", nullptr},     {"KEYGATE_HASH_PEPPER", nullptr},
                     {"KEYGATE_GRACE_PERIOD", nullptr}, {"KEYGATE_TRUSTED_PROXIES", nullptr},
                     {"KEYGATE_CONFIG", nullptr},       {"KEYGATE_LISTEN", nullptr},
                     {"KEYGATE_LOG_LEVEL", nullptr},    {"KEYGATE_LOG_FORMAT", nullptr}};
}

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run check(const Args& args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = run_check(args, in, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
}

// Obviously fake keys.
const std::string k_analyst = "pk_acme_test0001-analyst-not-a-real-key";
const std::string k_viewer = "pk_globex_test0002-viewer-not-a-real-key";
const std::string k_admin = "pk_admin_test0003-admin-not-a-real-key";
const std::string k_disabled = "pk_acme_test0004-disabled-not-a-real-key";
const std::string k_expiring = "pk_acme_test0005-expiring-not-a-real-key";
const std::string k_office = "pk_acme_test0006-office-only-not-a-real-key";
const std::string k_rotated_old = "pk_globex_test0007-old-secret-not-a-real-key";
const std::string k_env_admin = "pk_admin_test0008-from-env-not-a-real-key";

const std::string k_config = "settings:\n"
                             "  allow_query_key: true\n"
                             "tenants:\n"
                             "  acme_corp: {allowed_datasets: [orders, customers]}\n"
                             "api_keys:\n"
                             "  - id: acme-analysts\n"
                             "    key: \"" +
                             k_analyst +
                             "\"\n"
                             "    tenant: acme_corp\n"
                             "    role: analyst\n"
                             "    denied_datasets: [orders_raw]\n"
                             "  - id: globex-viewer\n"
                             "    key_hash: \"sha256:" +
                             to_hex(sha256(k_viewer)) +
                             "\"\n"
                             "    tenant: globex\n"
                             "    role: viewer\n"
                             "    allowed_datasets: [\"sales_*\"]\n"
                             "    previous_keys:\n"
                             "      - {key_hash: \"sha256:" +
                             to_hex(sha256(k_rotated_old)) +
                             "\", expires_at: 2099-01-01T00:00:00Z}\n"
                             "  - id: ops\n"
                             "    key: \"" +
                             k_admin +
                             "\"\n"
                             "    role: admin\n"
                             "  - id: acme-disabled\n"
                             "    key: \"" +
                             k_disabled +
                             "\"\n"
                             "    tenant: acme_corp\n"
                             "    role: viewer\n"
                             "    enabled: false\n"
                             "  - id: acme-expiring\n"
                             "    key: \"" +
                             k_expiring +
                             "\"\n"
                             "    tenant: acme_corp\n"
                             "    role: viewer\n"
                             "    expires_at: 2090-01-01T00:00:00Z\n"
                             "  - id: acme-office\n"
                             "    key: \"" +
                             k_office +
                             "\"\n"
                             "    tenant: acme_corp\n"
                             "    role: viewer\n"
                             "    ip_allowlist: [10.0.0.0/8]\n";

std::string denied_json(const std::string& id, const std::string& tenant, const std::string& role,
                        const std::string& permissions, const std::string& datasets,
                        const std::string& code, const std::string& detail) {
    return "{\"allowed\":false,\"key_id\":\"" + id + "\",\"tenant\":\"" + tenant +
           "\",\"role\":\"" + role + "\",\"rls\":\"apply\",\"permissions\":" + permissions +
           ",\"datasets\":" + datasets + ",\"datasets_denied\":[],\"grace_until\":null," +
           "\"code\":\"" + code + "\",\"detail\":\"" + detail + "\"}\n";
}

/// The decision on an INVALID_KEY key, with the reason it is invalid.
std::string invalid_json(const std::string& reason) {
    return "{\"allowed\":false,\"key_id\":null,\"tenant\":null,\"role\":null,\"rls\":null,"
           "\"permissions\":null,\"datasets\":null,\"datasets_denied\":null,\"grace_until\":null,"
           "\"code\":\"INVALID_KEY\",\"detail\":\"Invalid API key\",\"reason\":\"" +
           reason + "\"}\n";
}

const std::string k_unknown_json = invalid_json("unknown");

} // namespace

TEST_CASE("check prints the allowed decision and exits 0", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const Run run =
        check({"--config", config, "--key", k_analyst, "--path", "/v1/datasets/orders/rows"});
    CHECK(run.err.empty());
    CHECK(run.code == k_exit_ok);
    CHECK(run.out == "{\"allowed\":true,\"key_id\":\"acme-analysts\",\"tenant\":\"acme_corp\","
                     "\"role\":\"analyst\",\"rls\":\"apply\",\"permissions\":[\"read\",\"write\"],"
                     "\"datasets\":[\"orders\",\"customers\"],\"datasets_denied\":[\"orders_raw\"],"
                     "\"grace_until\":null,\"code\":\"OK\",\"detail\":null}\n");
}

TEST_CASE("check defaults to GET / from 127.0.0.1", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    // acme-office only accepts 10.0.0.0/8: the default address is refused.
    const Run run = check({"--config", config, "--key", k_office});
    CHECK(run.code == k_exit_failed);
    CHECK(run.out == denied_json("acme-office", "acme_corp", "viewer", "[\"read\"]",
                                 "[\"orders\",\"customers\"]", "IP_NOT_ALLOWED", "IP not allowed"));
    const Run inside = check({"--config", config, "--key", k_office, "--ip", "10.1.2.3"});
    CHECK(inside.code == k_exit_ok);
}

TEST_CASE("an unrestricted admin key shows the datasets wildcard and bypasses RLS", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const Run run = check(
        {"--config", config, "--key", k_admin, "--method", "delete", "--path", "/admin/keys"});
    CHECK(run.code == k_exit_ok);
    CHECK(run.out == "{\"allowed\":true,\"key_id\":\"ops\",\"tenant\":null,\"role\":\"admin\","
                     "\"rls\":\"bypass\",\"permissions\":[\"read\",\"write\",\"admin\"],"
                     "\"datasets\":[\"*\"],\"datasets_denied\":[],\"grace_until\":null,"
                     "\"code\":\"OK\",\"detail\":null}\n");
}

TEST_CASE("check reports each denial with its code and exits 1", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const std::string acme = "[\"orders\",\"customers\"]";

    SECTION("missing key") {
        const Run run = check({"--config", config, "--key", ""});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == "{\"allowed\":false,\"key_id\":null,\"tenant\":null,\"role\":null,"
                         "\"rls\":null,\"permissions\":null,\"datasets\":null,"
                         "\"datasets_denied\":null,\"grace_until\":null,"
                         "\"code\":\"MISSING_KEY\",\"detail\":\"API key required\"}\n");
        CHECK(run.err.empty());
    }
    SECTION("unknown key") {
        const Run run = check({"--config", config, "--key", "pk_acme_unknown-not-a-real-key"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == k_unknown_json);
    }
    SECTION("disabled key") {
        const Run run = check({"--config", config, "--key", k_disabled});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == denied_json("acme-disabled", "acme_corp", "viewer", "[\"read\"]", acme,
                                     "KEY_DISABLED", "API key disabled"));
    }
    SECTION("expired key, decided --at a later time") {
        CHECK(check({"--config", config, "--key", k_expiring}).code == k_exit_ok);
        const Run run =
            check({"--config", config, "--key", k_expiring, "--at", "2090-01-01T00:00:01Z"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == denied_json("acme-expiring", "acme_corp", "viewer", "[\"read\"]", acme,
                                     "KEY_EXPIRED", "API key expired"));
    }
    SECTION("missing permission") {
        const Run run = check({"--config", config, "--key", k_viewer, "--method", "POST", "--path",
                               "/v1/datasets/sales_eu/rows"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == denied_json("globex-viewer", "globex", "viewer", "[\"read\"]",
                                     "[\"sales_*\"]", "INSUFFICIENT_PERMISSION",
                                     "Insufficient permission: write"));
    }
    SECTION("forbidden dataset from the path") {
        const Run run =
            check({"--config", config, "--key", k_analyst, "--path", "/v1/datasets/payroll/x"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.find("\"code\":\"DATASET_FORBIDDEN\","
                           "\"detail\":\"Not authorized for dataset 'payroll'\"}") !=
              std::string::npos);
    }
    SECTION("forbidden dataset from the query string") {
        const Run run = check({"--config", config, "--key", k_analyst, "--method", "POST", "--path",
                               "/v1/query?dataset=orders&dataset=orders_raw"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.find("\"detail\":\"Not authorized for dataset 'orders_raw'\"") !=
              std::string::npos);
    }
    SECTION("forbidden dataset from --dataset (X-Dataset)") {
        const Run allowed = check({"--config", config, "--key", k_analyst, "--dataset", "orders"});
        CHECK(allowed.code == k_exit_ok);
        const Run run = check({"--config", config, "--key", k_analyst, "--dataset", "hr"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.find("\"detail\":\"Not authorized for dataset 'hr'\"") != std::string::npos);
    }
    SECTION("a query key that differs from --key") {
        const Run run =
            check({"--config", config, "--key", k_analyst, "--path", "/x?api_key=" + k_viewer});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out == invalid_json("conflict"));
    }
}

TEST_CASE("check honours --permission like /v1/authorize's permission field", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const Run run = check({"--config", config, "--key", k_analyst, "--permission", "admin"});
    CHECK(run.code == k_exit_failed);
    CHECK(run.out.find("\"detail\":\"Insufficient permission: admin\"") != std::string::npos);
}

TEST_CASE("check --key - reads the key on stdin", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    CHECK(check({"--config", config, "--key", "-"}, k_analyst + "\n").code == k_exit_ok);
    CHECK(check({"--config", config, "--key=-"}, k_analyst + "\r\n").code == k_exit_ok);
    CHECK(check({"--config", config, "--key", "-"}, k_analyst).code == k_exit_ok);
    // Only one line end is removed: what is left is not the key.
    CHECK(check({"--config", config, "--key", "-"}, k_analyst + "\n\n").out ==
          invalid_json("malformed"));
    const Run empty = check({"--config", config, "--key", "-"}, "");
    CHECK(empty.code == k_exit_failed);
    CHECK(empty.out.find("\"code\":\"MISSING_KEY\"") != std::string::npos);
}

TEST_CASE("a previous_keys secret shows until when it is honoured", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const Run run = check({"--config", config, "--key", k_rotated_old});
    CHECK(run.code == k_exit_ok);
    CHECK(run.out.find("\"key_id\":\"globex-viewer\"") != std::string::npos);
    CHECK(run.out.find("\"grace_until\":\"2099-01-01T00:00:00Z\"") != std::string::npos);
}

TEST_CASE("check loads the environment's keys, from an env file too", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const std::string env_file = dir.write("keygate.env", "# example\n"
                                                          "API_KEY_ADMIN=\"" +
                                                              k_env_admin + "\"\n");
    const std::string expected = "{\"allowed\":true,\"key_id\":\"env-admin\",\"tenant\":null,"
                                 "\"role\":\"admin\",\"rls\":\"bypass\","
                                 "\"permissions\":[\"read\",\"write\",\"admin\"],"
                                 "\"datasets\":[\"*\"],\"datasets_denied\":[],"
                                 "\"grace_until\":null,\"code\":\"OK\",\"detail\":null}\n";
    CHECK(check({"--config", config, "--key", k_env_admin}).out == k_unknown_json);
    const Run run = check({"--config", config, "--key", k_env_admin, "--env-file", env_file});
    CHECK(run.code == k_exit_ok);
    CHECK(run.out == expected);
    // The env file does not change this process's environment.
    CHECK(std::getenv("API_KEY_ADMIN") == nullptr);
    {
        const ScopedEnv from_env{{"KEYGATE_ENV_FILE", env_file.c_str()}};
        CHECK(check({"--config", config, "--key", k_env_admin}).out == expected);
    }
    {
        const ScopedEnv direct{{"API_KEY_ADMIN", k_env_admin.c_str()}};
        CHECK(check({"--config", config, "--key", k_env_admin}).out == expected);
    }
    const Run missing =
        check({"--config", config, "--key", k_env_admin, "--env-file", env_file + ".nope"});
    CHECK(missing.code == k_exit_failed);
    CHECK(missing.out.empty());
    CHECK(missing.err.starts_with("keygate check: " + env_file + ".nope: cannot open env file"));
}

TEST_CASE("an invalid config prints its diagnostics and exits 1", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", "api_keys:\n"
                                                      "  - key_hash: \"sha256:abc\"\n"
                                                      "    role: admin\n");
    const Run run = check({"--config", config, "--key", k_admin});
    CHECK(run.code == k_exit_failed);
    CHECK(run.out.empty());
    CHECK(run.err.starts_with(config + ":2:"));
    CHECK(run.err.find(": error: ") != std::string::npos);
    CHECK(run.err.ends_with("keygate check: " + config + " is not valid\n"));

    const Run empty = check({"--config", dir.write("empty.yaml", ""), "--key", k_admin});
    CHECK(empty.code == k_exit_failed);
    CHECK(empty.out.empty());
    const Run absent = check({"--config", config + ".absent", "--key", k_admin});
    CHECK(absent.code == k_exit_failed);
    CHECK(absent.out.empty());
}

TEST_CASE("check usage errors exit 2", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    const std::string usage =
        "usage: keygate check --config PATH --key KEY|- [--dataset NAME] [--method M] [--path P] "
        "[--ip ADDR] [--permission PERM] [--at TIME] [--env-file PATH]\n";
    const auto check_usage = [&](const Args& args, const std::string& message) {
        const Run run = check(args);
        CHECK(run.code == k_exit_usage);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate check: " + message + "\n" + usage);
    };
    check_usage({"--key", "x"}, "--config is required");
    check_usage({"--config", "k.yaml"}, "--key is required");
    check_usage({"--config", "k.yaml", "--key"}, "option '--key' needs a value");
    check_usage({"--config", "k.yaml", "--key", "x", "--verbose"}, "unknown option '--verbose'");
    check_usage({"--config", "k.yaml", "--key", "x", "--ip", "10.0.0.300"},
                "--ip must be an IPv4 or IPv6 address");
    check_usage({"--config", "k.yaml", "--key", "x", "--method", "GE T"},
                "--method must be an HTTP method such as GET or POST");
    check_usage({"--config", "k.yaml", "--key", "x", "--path", "v1/query"},
                "--path must start with '/'");
    check_usage({"--config", "k.yaml", "--key", "x", "extra"}, "unexpected argument 'extra'");
    const Run at = check({"--config", "k.yaml", "--key", "x", "--at", "tomorrow"});
    CHECK(at.code == k_exit_usage);
    CHECK(at.err.starts_with("keygate check: --at: "));
}

TEST_CASE("check reads --path with the one URI reader: an ambiguous path is row 0", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    const Run run = check({"--config", config, "--key", k_analyst, "--path",
                           "/v1/datasets/orders%3F/../customers/rows"});
    CHECK(run.code == k_exit_failed);
    CHECK(run.out.find("\"code\":\"INVALID_REQUEST\",\"detail\":\"Invalid request\"") !=
          std::string::npos);
}

TEST_CASE("check names why a key is invalid: a typo of a generated key", "[cmd_check]") {
    const ScopedEnv env = clean_environment();
    TempDir dir;
    const std::string config = dir.write("keys.yaml", k_config);
    std::string typo = assemble_key("pk", "acme", std::string(30, 'Q'));
    typo.back() = typo.back() == 'x' ? 'y' : 'x';
    CHECK(check({"--config", config, "--key", typo}).out == invalid_json("checksum"));
}
