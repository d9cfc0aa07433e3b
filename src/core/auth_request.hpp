#pragma once
// What a request is decided from (CONTRACT §5), independent of the proxy that asked.
#include "core/ip_address.hpp"
#include "core/uri_reader.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// The inputs of one decision, as the server (or `keygate check`) extracted them.
struct AuthRequest {
    std::optional<std::string> key; ///< the presented key, when exactly one was presented
    bool conflicting_keys = false;  ///< two different keys were presented
    bool key_in_query = false;      ///< `key` came (also) as ?api_key= (allow_query_key)
    std::string method = "GET";     ///< the original method, upper case
    std::string path = "/";         ///< the original path as received, without the query (for logs)
    std::vector<std::string>
        segments; ///< the path's decoded, normalized segments (routes match these)
    std::vector<std::string> query_datasets;   ///< `dataset` parameters of the original URI
    std::optional<std::string> header_dataset; ///< X-Dataset
    std::optional<std::string> body_dataset;   ///< `dataset` of a forwarded JSON body
    IpAddress client_ip;
    std::optional<std::string> permission; ///< /v1/authorize: overrides the route's permission
    /// Row 0: the original method or URI can be read two ways (an unreadable URI, the
    /// method or URI headers repeated or disagreeing); decided INVALID_REQUEST.
    bool ambiguous = false;
};

/// The key credentials a request carried.
struct PresentedCredentials {
    std::optional<std::string_view> header;        ///< settings.header (X-API-Key)
    std::optional<std::string_view> authorization; ///< the Authorization header, whole
    std::optional<std::string_view> query;         ///< ?api_key= (only if allowed)
};

/// The key to decide with, or a conflict.
struct KeySelection {
    std::optional<std::string> key;
    bool conflicting = false;
};

/// Picks the key: the header, else `Authorization: Bearer <key>` (scheme case-insensitive),
/// else the query key; two present and different is a conflict. Empty values count as absent.
KeySelection select_key(const PresentedCredentials& credentials);

/// Sets request.path, request.segments, request.query_datasets and request.ambiguous from
/// a URI read by read_original_uri().
void apply_original_uri(AuthRequest& request, OriginalUri uri);

} // namespace keygate
