// API_KEY_ADMIN / API_KEY_DEFAULT: appended to a validated config, or refused with a reason.
#include "core/config_loader.hpp"
#include "core/environment_keys.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

namespace {

constexpr const char* k_admin_key = "pk_ops_test0001_fake_Zq8XbL2mRt4Kd9VwN3pHc7Y";
constexpr const char* k_default_key = "pk_default_test0002_fake_Kd9VwN3pHc7YsF6jGe";

/// A config with built-in roles and the given file keys.
/// The roles line is line 1: file keys start on line 3.
Config config_with(const std::string& api_keys = "api_keys: []\n") {
    LoadOptions options;
    auto loaded = load_config_text("roles: {auditor: {permissions: [read]}, ops: {permissions: "
                                   "[read], bypass_rls: true}}\n" +
                                       api_keys,
                                   options);
    REQUIRE(loaded.config);
    return *loaded.config;
}

std::vector<std::string> messages(const Diagnostics& d) {
    std::vector<std::string> out;
    for (const Diagnostic& x : d.items) {
        out.push_back(std::to_string(x.line) + ":" + std::to_string(x.column) + ": " +
                      to_string(x.severity) + ": " + x.message);
    }
    return out;
}

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("no environment keys: nothing changes", "[environment_keys]") {
    Config config = config_with();
    const Diagnostics d = add_environment_keys(config, EnvironmentKeys{});
    CHECK(d.items.empty());
    CHECK(config.api_keys.empty());
}

TEST_CASE("API_KEY_ADMIN is an admin key with id env-admin", "[environment_keys]") {
    Config config = config_with();
    EnvironmentKeys keys;
    keys.admin = k_admin_key;
    const Diagnostics d = add_environment_keys(config, keys);
    CHECK(d.items.empty());
    REQUIRE(config.api_keys.size() == 1);
    const KeyEntry& k = config.api_keys[0];
    CHECK(k.id == "env-admin");
    CHECK(k.role == "admin");
    CHECK_FALSE(k.tenant);
    CHECK(k.secret == SecretDigest{HashKind::sha256, sha256(k_admin_key)});
    CHECK(k.secret_was_plaintext);
    CHECK(k.enabled);
    CHECK(k.line == 0);
}

TEST_CASE("API_KEY_DEFAULT takes the default role and tenant", "[environment_keys]") {
    Config config = config_with();
    EnvironmentKeys keys;
    keys.default_key = k_default_key;
    CHECK(add_environment_keys(config, keys).items.empty());
    REQUIRE(config.api_keys.size() == 1);
    CHECK(config.api_keys[0].id == "env-default");
    CHECK(config.api_keys[0].role == "analyst");
    CHECK(config.api_keys[0].tenant == std::optional<std::string>("default"));
    CHECK(config.api_keys[0].secret == SecretDigest{HashKind::sha256, sha256(k_default_key)});
}

TEST_CASE("both keys, with a custom role and tenant, after the file's keys", "[environment_keys]") {
    Config config =
        config_with("api_keys:\n  - {key_hash: \"sha256:1111111111111111111111111111"
                    "111111111111111111111111111111111111\", id: file-key, role: admin}\n");
    EnvironmentKeys keys;
    keys.admin = k_admin_key;
    keys.default_key = k_default_key;
    keys.default_role = "auditor";
    keys.default_tenant = "acme";
    CHECK(add_environment_keys(config, keys).items.empty());
    REQUIRE(config.api_keys.size() == 3);
    CHECK(config.api_keys[0].id == "file-key");
    CHECK(config.api_keys[1].id == "env-admin");
    CHECK(config.api_keys[2].id == "env-default");
    CHECK(config.api_keys[2].role == "auditor");
    CHECK(config.api_keys[2].tenant == std::optional<std::string>("acme"));
}

TEST_CASE("a role that bypasses RLS needs no tenant", "[environment_keys]") {
    Config config = config_with();
    EnvironmentKeys keys;
    keys.default_key = k_default_key;
    keys.default_role = "ops";
    keys.default_tenant = "";
    CHECK(add_environment_keys(config, keys).items.empty());
    REQUIRE(config.api_keys.size() == 1);
    CHECK_FALSE(config.api_keys[0].tenant);
}

TEST_CASE("environment key errors are at 0:0 and add nothing", "[environment_keys]") {
    Config config =
        config_with("api_keys:\n"
                    "  - key: \"" +
                    std::string(k_admin_key) +
                    "\"\n"
                    "    id: file-admin\n    role: admin\n"
                    "  - key_hash: "
                    "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"\n"
                    "    id: env-default\n    role: admin\n"
                    "    previous_keys:\n"
                    "      - {key_hash: \"sha256:" +
                    to_hex(sha256(k_default_key)) + "\", expires_at: 2099-01-01}\n");
    const std::size_t file_keys = config.api_keys.size();

    SECTION("the same secret as a file key, the same id as a file key") {
        EnvironmentKeys keys;
        keys.admin = k_admin_key;
        keys.default_key = k_default_key;
        const Diagnostics d = add_environment_keys(config, keys);
        CHECK(messages(d) ==
              Lines{"0:0: error: API_KEY_ADMIN: same secret as key 'file-admin' (line 3)",
                    "0:0: error: API_KEY_DEFAULT: key id 'env-default' is already used by the key "
                    "at line 6",
                    "0:0: error: API_KEY_DEFAULT: same secret as a previous key of key "
                    "'env-default' (line 6)"});
        CHECK(config.api_keys.size() == file_keys);
    }
    SECTION("an unknown default role") {
        EnvironmentKeys keys;
        keys.default_key = k_default_key;
        keys.default_role = "superuser";
        Config fresh = config_with();
        CHECK(messages(add_environment_keys(fresh, keys)) ==
              Lines{"0:0: error: API_KEY_DEFAULT: unknown role 'superuser' (from "
                    "KEYGATE_DEFAULT_ROLE)"});
        CHECK(fresh.api_keys.empty());
    }
    SECTION("an empty default tenant for a role under RLS") {
        EnvironmentKeys keys;
        keys.default_key = k_default_key;
        keys.default_tenant = "";
        Config fresh = config_with();
        CHECK(messages(add_environment_keys(fresh, keys)) ==
              Lines{"0:0: error: API_KEY_DEFAULT: missing tenant (KEYGATE_DEFAULT_TENANT is empty "
                    "and role 'analyst' does not bypass rls)"});
        CHECK(fresh.api_keys.empty());
    }
}

TEST_CASE("API_KEY_ADMIN and API_KEY_DEFAULT may not be the same key", "[environment_keys]") {
    Config config = config_with();
    EnvironmentKeys keys;
    keys.admin = k_admin_key;
    keys.default_key = k_admin_key;
    CHECK(messages(add_environment_keys(config, keys)) ==
          Lines{"0:0: error: API_KEY_DEFAULT: same secret as API_KEY_ADMIN"});
    REQUIRE(config.api_keys.size() == 1);
    CHECK(config.api_keys[0].id == "env-admin");
}

TEST_CASE("an empty, spaced or weak environment key", "[environment_keys]") {
    Config config = config_with();
    EnvironmentKeys keys;
    keys.admin = "";
    keys.default_key = "pk default key with spaces in it";
    CHECK(messages(add_environment_keys(config, keys)) ==
          Lines{"0:0: error: API_KEY_ADMIN is empty",
                "0:0: error: API_KEY_DEFAULT must not contain spaces or control characters"});
    CHECK(config.api_keys.empty());

    EnvironmentKeys weak;
    weak.admin = "admin123";
    const Diagnostics d = add_environment_keys(config, weak);
    CHECK(messages(d) ==
          Lines{"0:0: warning: API_KEY_ADMIN: weak key: shorter than 20 characters"});
    CHECK(config.api_keys.size() == 1); // a warning does not refuse the key
    for (const Diagnostic& x : d.items)
        CHECK(x.message.find("admin123") == std::string::npos);
}
