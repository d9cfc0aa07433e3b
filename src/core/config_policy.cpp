// The `roles:`, `tenants:` and `routes:` sections of the key file.
#include "core/config_sections.hpp"

#include <algorithm>
#include <cctype>

namespace keygate::loader {
namespace {

/// An HTTP method as routes name it: letters only, compared in upper case.
std::optional<std::string> normalize_method(std::string_view text) {
    if (text.empty() || text.size() > 32)
        return std::nullopt;
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (std::isalpha(static_cast<unsigned char>(c)) == 0)
            return std::nullopt;
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

} // namespace

void read_roles(const Reader& r, NodeId map, std::vector<Role>& roles) {
    const std::size_t builtin_count = roles.size();
    r.doc().for_each_entry(map, [&](NodeId key, NodeId def) {
        const std::string name(r.doc().text(key));
        if (has_control_character(name)) {
            r.out().error(r.place(key), "role names must not contain control characters");
            return;
        }
        const std::string subject = "role " + quoted(name);
        const auto builtin =
            std::find_if(roles.begin(), roles.begin() + static_cast<std::ptrdiff_t>(builtin_count),
                         [&](const Role& role) { return role.name == name; });
        const bool is_builtin =
            builtin != roles.begin() + static_cast<std::ptrdiff_t>(builtin_count);
        Role role = is_builtin ? *builtin : Role{name, {}, false};
        bool has_permissions = false;
        if (r.is_null(def) && is_builtin)
            return; // "admin:" alone keeps the built-in
        if (r.doc().kind(def) != NodeKind::map) {
            r.wrong_type(def, subject, "a map");
            return;
        }
        r.fields(def, {"permissions", "bypass_rls", "description"}, subject,
                 [&](std::string_view field, NodeId, NodeId v) {
                     if (field == "permissions") {
                         has_permissions = true;
                         if (auto list = r.strings(v, field))
                             role.permissions = std::move(*list);
                     } else if (field == "bypass_rls") {
                         if (const auto b = r.boolean(v, field))
                             role.bypass_rls = *b;
                     } else if (!r.is_null(v)) {
                         r.string(v, field); // checked, not kept: Role has no description
                     }
                 });
        if (!has_permissions && !is_builtin) {
            r.out().error(r.place(def), "missing 'permissions' in " + subject);
        }
        if (is_builtin) {
            *builtin = std::move(role);
        } else {
            roles.push_back(std::move(role));
        }
    });
}

std::vector<Tenant> read_tenants(const Reader& r, NodeId map) {
    std::vector<Tenant> tenants;
    tenants.reserve(r.doc().size(map));
    r.doc().for_each_entry(map, [&](NodeId key, NodeId def) {
        Tenant tenant;
        tenant.name = std::string(r.doc().text(key));
        if (has_control_character(tenant.name)) {
            r.out().error(r.place(key), "tenant names must not contain control characters");
            return;
        }
        const std::string subject = "tenant " + quoted(tenant.name);
        if (!r.is_null(def)) {
            if (r.doc().kind(def) != NodeKind::map) {
                r.wrong_type(def, subject, "a map");
                return;
            }
            r.fields(def, {"allowed_datasets", "denied_datasets", "description"}, subject,
                     [&](std::string_view field, NodeId, NodeId v) {
                         if (field == "allowed_datasets") {
                             tenant.allowed_datasets = r.strings(v, field);
                         } else if (field == "denied_datasets") {
                             if (auto list = r.strings(v, field)) {
                                 tenant.denied_datasets = std::move(*list);
                             }
                         } else if (!r.is_null(v)) {
                             if (auto text = r.string(v, field))
                                 tenant.description = std::move(*text);
                         }
                     });
        }
        tenants.push_back(std::move(tenant));
    });
    return tenants;
}

std::vector<Route> read_routes(const Reader& r, NodeId list) {
    std::vector<Route> routes;
    routes.reserve(r.doc().size(list));
    r.doc().for_each_item(list, [&](NodeId item) {
        if (r.doc().kind(item) != NodeKind::map) {
            r.wrong_type(item, "each item of 'routes'", "a map");
            return;
        }
        Route route;
        bool has_path = false;
        bool has_permission = false;
        r.fields(item, {"path", "methods", "permission"}, "a route",
                 [&](std::string_view field, NodeId, NodeId v) {
                     if (field == "path") {
                         has_path = true;
                         const auto text = r.string(v, field);
                         if (!text)
                             return;
                         auto pattern = parse_route_pattern(*text);
                         if (!pattern) {
                             r.out().error(r.place(v), "bad route path " + quoted(*text) + ": " +
                                                           pattern.error().message);
                         } else {
                             route.pattern = std::move(*pattern);
                         }
                     } else if (field == "methods") {
                         if (!r.expect_list(v, field))
                             return;
                         r.doc().for_each_item(v, [&](NodeId m) {
                             if (r.doc().kind(m) != NodeKind::scalar) {
                                 r.wrong_type(m, "each item of 'methods'", "an http method");
                             } else if (auto method = normalize_method(r.doc().text(m))) {
                                 route.methods.push_back(std::move(*method));
                             } else {
                                 r.out().error(r.place(m), "bad http method " +
                                                               quoted(r.doc().text(m)) +
                                                               " in 'methods'");
                             }
                         });
                     } else {
                         has_permission = true;
                         if (auto text = r.name(v, field))
                             route.permission = std::move(*text);
                     }
                 });
        if (!has_path)
            r.out().error(r.place(item), "missing 'path' in a route");
        if (!has_permission)
            r.out().error(r.place(item), "missing 'permission' in a route");
        routes.push_back(std::move(route));
    });
    return routes;
}

} // namespace keygate::loader
