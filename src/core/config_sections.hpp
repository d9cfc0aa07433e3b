#pragma once
// Private to the config loader: one reader per top-level section of the key file
// (CONTRACT §3). Each reports every problem it finds and returns what it could read.
#include "core/config.hpp"
#include "core/config_loader.hpp"
#include "core/config_reader.hpp"

#include <vector>

namespace keygate::loader {

/// `settings:` (a map). Absent fields keep their defaults; trusted_proxies stays empty
/// when absent (the caller applies the default).
Settings read_settings(const Reader& r, NodeId map, bool& has_trusted_proxies);

/// `roles:` (a map of name -> definition) applied over `roles`, which holds the built-ins: a
/// built-in named again is changed field by field, a new name is appended.
void read_roles(const Reader& r, NodeId map, std::vector<Role>& roles);

/// `tenants:` (a map of name -> defaults), in file order.
std::vector<Tenant> read_tenants(const Reader& r, NodeId map);

/// `routes:` (a list), in file order.
std::vector<Route> read_routes(const Reader& r, NodeId list);

/// `api_keys:` (a list), in file order, checked against the final `roles`.
std::vector<KeyEntry> read_api_keys(const Reader& r, NodeId list, const std::vector<Role>& roles,
                                    const LoadOptions& options);

} // namespace keygate::loader
