// The environment's keys, *_FILE secrets and defaults.
#include "infra/environment.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

struct SecretFile {
    fs::path path;
    explicit SecretFile(const std::string& content, const std::string& tag = "a") {
        path = fs::temp_directory_path() /
               ("keygate-secret-" + std::to_string(::getpid()) + "-" + tag);
        std::ofstream(path, std::ios::binary) << content;
    }
    ~SecretFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

} // namespace

TEST_CASE("environment keys: defaults", "[environment]") {
    const auto keys = read_environment_keys(environment_from_map({}));
    REQUIRE(keys);
    CHECK_FALSE(keys->admin);
    CHECK_FALSE(keys->default_key);
    CHECK(keys->default_role == "analyst");
    CHECK(keys->default_tenant == "default");
}

TEST_CASE("environment keys: direct values, role and tenant", "[environment]") {
    const auto keys = read_environment_keys(environment_from_map({
        {"API_KEY_ADMIN", "pk_ops_test0001admin"},
        {"API_KEY_DEFAULT", "pk_acme_test0002default"},
        {"KEYGATE_DEFAULT_ROLE", "viewer"},
        {"KEYGATE_DEFAULT_TENANT", "acme_corp"},
    }));
    REQUIRE(keys);
    CHECK(keys->admin == "pk_ops_test0001admin");
    CHECK(keys->default_key == "pk_acme_test0002default");
    CHECK(keys->default_role == "viewer");
    CHECK(keys->default_tenant == "acme_corp");
}

TEST_CASE("environment keys: an empty variable counts as unset", "[environment]") {
    const auto keys = read_environment_keys(
        environment_from_map({{"API_KEY_ADMIN", ""}, {"KEYGATE_DEFAULT_ROLE", ""}}));
    REQUIRE(keys);
    CHECK_FALSE(keys->admin);
    CHECK(keys->default_role == "analyst");
}

TEST_CASE("environment keys: *_FILE loses exactly one trailing newline", "[environment]") {
    const SecretFile lf("pk_acme_test0003file\n", "lf");
    const SecretFile crlf("pk_ops_test0004file\r\n", "crlf");
    const auto keys = read_environment_keys(environment_from_map({
        {"API_KEY_DEFAULT_FILE", lf.path.string()},
        {"API_KEY_ADMIN_FILE", crlf.path.string()},
    }));
    REQUIRE(keys);
    CHECK(keys->default_key == "pk_acme_test0003file");
    CHECK(keys->admin == "pk_ops_test0004file");

    const SecretFile two("pk_acme_test0005two\n\n", "two");
    const auto secret = read_secret_file("API_KEY_DEFAULT_FILE", two.path.string());
    REQUIRE(secret);
    CHECK(*secret == "pk_acme_test0005two\n");
    const SecretFile none("pk_acme_test0006none", "none");
    CHECK(read_secret_file("X_FILE", none.path.string()).value() == "pk_acme_test0006none");
}

TEST_CASE("environment keys: errors", "[environment]") {
    const SecretFile file("pk_acme_test0007\n", "both");
    const auto both = read_environment_keys(environment_from_map(
        {{"API_KEY_ADMIN", "pk_ops_test0008"}, {"API_KEY_ADMIN_FILE", file.path.string()}}));
    REQUIRE_FALSE(both);
    CHECK(both.error().message ==
          "API_KEY_ADMIN and API_KEY_ADMIN_FILE are both set; set only one of them");

    const auto missing = read_environment_keys(
        environment_from_map({{"API_KEY_DEFAULT_FILE", "/nonexistent/keygate/secret"}}));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "API_KEY_DEFAULT_FILE: cannot open "
                                     "'/nonexistent/keygate/secret': No such file or directory");

    const SecretFile empty("\n", "empty");
    const auto blank = read_secret_file("API_KEY_ADMIN_FILE", empty.path.string());
    REQUIRE_FALSE(blank);
    CHECK(blank.error().message == "API_KEY_ADMIN_FILE: '" + empty.path.string() + "' is empty");

    const SecretFile huge(std::string(70 * 1024, 'k'), "huge");
    const auto large = read_secret_file("API_KEY_ADMIN_FILE", huge.path.string());
    REQUIRE_FALSE(large);
    CHECK(large.error().message ==
          "API_KEY_ADMIN_FILE: '" + huge.path.string() + "' is larger than 64 KiB");
}
