// API_KEY_ADMIN and API_KEY_DEFAULT: keys from the environment, added after the file's.
#include "core/environment_keys.hpp"

#include "core/config_key_strength.hpp"

#include <algorithm>

namespace keygate {
namespace {

/// One environment key to add.
struct Candidate {
    const char* variable;
    std::string id;
    std::string role;
    std::optional<std::string> tenant;
    const std::string& key;
};

bool is_presentable(std::string_view key) {
    return std::none_of(key.begin(), key.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

/// Who already holds `secret`, for a message ("key 'x' (line 3)", "API_KEY_ADMIN"), or "".
std::string secret_owner(const Config& config, const SecretDigest& secret) {
    for (const KeyEntry& k : config.api_keys) {
        const bool previous =
            std::any_of(k.previous_keys.begin(), k.previous_keys.end(),
                        [&](const PreviousSecret& p) { return p.secret == secret; });
        if (!(k.secret == secret) && !previous)
            continue;
        if (k.line == 0)
            return k.id == "env-admin" ? "API_KEY_ADMIN" : "key '" + k.id + "'";
        return (previous ? "a previous key of key '" : "key '") + k.id + "' (line " +
               std::to_string(k.line) + ")";
    }
    return {};
}

/// Checks one candidate; appends it when it has no error.
void add_one(Config& config, const Candidate& c, Diagnostics& out) {
    const std::string name = c.variable;
    const std::size_t errors_before = out.error_count();
    if (c.key.empty()) {
        out.error(0, 0, name + " is empty");
        return;
    }
    if (!is_presentable(c.key)) {
        out.error(0, 0, name + " must not contain spaces or control characters");
        return;
    }
    const Role* role = config.find_role(c.role);
    if (role == nullptr) {
        out.error(0, 0, name + ": unknown role '" + c.role + "' (from KEYGATE_DEFAULT_ROLE)");
    } else if (!role->bypass_rls && (!c.tenant || c.tenant->empty())) {
        out.error(0, 0,
                  name + ": missing tenant (KEYGATE_DEFAULT_TENANT is empty and role '" + c.role +
                      "' does not bypass rls)");
    }
    const auto same_id = std::find_if(config.api_keys.begin(), config.api_keys.end(),
                                      [&](const KeyEntry& k) { return k.id == c.id; });
    if (same_id != config.api_keys.end()) {
        out.error(0, 0,
                  name + ": key id '" + c.id + "' is already used by the key at line " +
                      std::to_string(same_id->line));
    }
    const SecretDigest secret{HashKind::sha256, sha256(c.key)};
    if (const std::string owner = secret_owner(config, secret); !owner.empty()) {
        out.error(0, 0, name + ": same secret as " + owner);
    }
    if (const auto reason = weak_key_reason(c.key)) {
        out.warning(0, 0, name + ": weak key: " + *reason);
    }
    if (out.error_count() != errors_before)
        return;

    KeyEntry entry;
    entry.id = c.id;
    entry.secret = secret;
    entry.secret_was_plaintext = true;
    entry.role = c.role;
    if (c.tenant && !c.tenant->empty())
        entry.tenant = c.tenant;
    entry.line = 0;
    config.api_keys.push_back(std::move(entry));
}

} // namespace

Diagnostics add_environment_keys(Config& config, const EnvironmentKeys& keys) {
    Diagnostics out;
    if (keys.admin) {
        add_one(config, {"API_KEY_ADMIN", "env-admin", "admin", std::nullopt, *keys.admin}, out);
    }
    if (keys.default_key) {
        add_one(config,
                {"API_KEY_DEFAULT", "env-default", keys.default_role, keys.default_tenant,
                 *keys.default_key},
                out);
    }
    return out;
}

} // namespace keygate
