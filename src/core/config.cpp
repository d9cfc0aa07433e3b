// The config model's lookups and defaults.
#include "core/config.hpp"

#include <algorithm>

namespace keygate {

const Role* Config::find_role(const std::string& name) const {
    const auto it =
        std::find_if(roles.begin(), roles.end(), [&](const Role& r) { return r.name == name; });
    return it == roles.end() ? nullptr : &*it;
}

const Tenant* Config::find_tenant(const std::string& name) const {
    const auto it = std::find_if(tenants.begin(), tenants.end(),
                                 [&](const Tenant& t) { return t.name == name; });
    return it == tenants.end() ? nullptr : &*it;
}

std::vector<Role> builtin_roles() {
    return {
        Role{"admin", {"read", "write", "admin"}, true},
        Role{"analyst", {"read", "write"}, false},
        Role{"viewer", {"read"}, false},
    };
}

std::vector<Cidr> default_trusted_proxies() {
    // Both literals are valid, so the Results hold values.
    return {*parse_cidr("127.0.0.1/32"), *parse_cidr("::1/128")};
}

} // namespace keygate
