#pragma once
// What a request is decided from (CONTRACT §5), independent of the proxy that asked.
#include "core/ip_address.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// The inputs of one decision, as the server (or `keygate check`) extracted them.
struct AuthRequest {
    std::optional<std::string> key; ///< the presented key, when exactly one was presented
    bool conflicting_keys = false;  ///< two different keys were presented
    std::string method = "GET";     ///< the original method, upper case
    std::string path = "/";         ///< the original path as received, without the query (for logs)
    std::vector<std::string> segments; ///< the path's decoded, normalized segments (routes match these)
    std::vector<std::string> query_datasets;  ///< `dataset` parameters of the original URI
    std::optional<std::string> header_dataset; ///< X-Dataset
    std::optional<std::string> body_dataset;   ///< `dataset` of a forwarded JSON body
    IpAddress client_ip;
    std::optional<std::string> permission; ///< /v1/authorize: overrides the route's permission
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

/// How an original URI reached keygate.
enum class UriEncoding {
    raw,          ///< as on the wire (request target, JSON body, command line): decode once
    decoded_once, ///< from a header: cpp-httplib 0.11.4 already percent-decoded every header
                  ///< value, so decoding again would turn "%2561" into "a": do not
};

/// The path and query of an original URI ("/v1/x?dataset=a&b=c").
struct OriginalUri {
    std::string path = "/";               ///< as received, without query and fragment
    std::vector<std::string> segments;    ///< decoded per segment, dot segments resolved
    std::vector<std::string> datasets;    ///< every `dataset` query parameter, decoded
    std::optional<std::string> api_key;   ///< the `api_key` query parameter, decoded
};

/// Splits an original URI into its path and the query parameters keygate reads.
/// A URI that does not start with '/' (absolute-form) has its scheme and authority removed.
OriginalUri parse_original_uri(std::string_view uri, UriEncoding encoding);

/// Sets request.path, request.segments and request.query_datasets from a parsed URI.
void apply_original_uri(AuthRequest& request, OriginalUri uri);

/// Percent-decodes a query component ('+' is a space). Invalid escapes stay literal.
std::string decode_query_component(std::string_view text);

} // namespace keygate
