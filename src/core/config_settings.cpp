// The `settings:` section of the key file.
#include "core/config_sections.hpp"

#include <cctype>
#include <cstring>

namespace keygate::loader {
namespace {

/// RFC 9110 token characters, the only ones a header name may hold.
bool is_header_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    });
}

void read_failed_auth_burst(const Reader& r, NodeId map, BurstThreshold& out) {
    if (!r.expect_map(map, "failed_auth_burst"))
        return;
    r.fields(map, {"count", "window"}, "'failed_auth_burst'",
             [&](std::string_view name, NodeId, NodeId v) {
                 if (name == "count") {
                     if (const auto n = r.integer(v, name, 1))
                         out.count = *n;
                 } else if (const auto d = r.duration(v, name, true)) {
                     out.window = *d;
                 }
             });
}

void read_volume_spike(const Reader& r, NodeId map, AlertSettings& out) {
    if (!r.expect_map(map, "volume_spike"))
        return;
    r.fields(map, {"factor", "min_per_minute"}, "'volume_spike'",
             [&](std::string_view name, NodeId, NodeId v) {
                 if (name == "factor") {
                     if (const auto f = r.number(v, name, 1.0))
                         out.volume_spike_factor = *f;
                 } else if (const auto n = r.integer(v, name, 0)) {
                     out.volume_spike_min_per_minute = *n;
                 }
             });
}

void read_alerts(const Reader& r, NodeId map, AlertSettings& out) {
    if (!r.expect_map(map, "alerts"))
        return;
    r.fields(map,
             {"failed_auth_burst", "new_ip", "volume_spike", "unusual_dataset", "key_expiring",
              "rotated_secret_used"},
             "'alerts'", [&](std::string_view name, NodeId, NodeId v) {
                 if (name == "failed_auth_burst") {
                     read_failed_auth_burst(r, v, out.failed_auth_burst);
                 } else if (name == "volume_spike") {
                     read_volume_spike(r, v, out);
                 } else if (const auto b = r.boolean(v, name)) {
                     bool& flag = name == "new_ip"                ? out.new_ip
                                  : name == "key_expiring"        ? out.key_expiring
                                  : name == "rotated_secret_used" ? out.rotated_secret_used
                                                                  : out.unusual_dataset;
                     flag = *b;
                 }
             });
}

} // namespace

Settings read_settings(const Reader& r, NodeId map, bool& has_trusted_proxies) {
    Settings s;
    has_trusted_proxies = false;
    r.fields(map,
             {"header", "grace_period", "trusted_proxies", "allow_query_key", "alerts",
              "reload_interval"},
             "'settings'", [&](std::string_view name, NodeId, NodeId v) {
                 if (name == "header") {
                     const auto header = r.string(v, name);
                     if (header && !is_header_name(*header)) {
                         r.out().error(r.place(v), "'header' must be an http header name, not " +
                                                       quoted(*header));
                     } else if (header) {
                         s.header = *header;
                     }
                 } else if (name == "grace_period") {
                     if (const auto d = r.duration(v, name, false))
                         s.grace_period = *d;
                 } else if (name == "trusted_proxies") {
                     has_trusted_proxies = true;
                     if (auto list = r.cidrs(v, name))
                         s.trusted_proxies = std::move(*list);
                 } else if (name == "allow_query_key") {
                     if (const auto b = r.boolean(v, name))
                         s.allow_query_key = *b;
                 } else if (name == "alerts") {
                     read_alerts(r, v, s.alerts);
                 } else if (const auto d = r.duration(v, name, true)) {
                     s.reload_interval = *d;
                 }
             });
    return s;
}

} // namespace keygate::loader
