#pragma once
// A request's headers -> AuthRequest (CONTRACT §5): which key, which original method and URI,
// which client address, which datasets. Pure functions over headers, so that each rule is
// unit-tested without a socket.
//
// Header values are the raw bytes the client sent (the listener reads every head with the
// strict reader of head_parser.hpp, never percent-decoded), and the original URI is read by
// the one URI reader (core/uri_reader.hpp), whichever endpoint it came to.
#include "core/auth_request.hpp"
#include "core/config.hpp"
#include "http/head_parser.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// A header that may be repeated only with the same value.
struct SingleValue {
    std::optional<std::string_view> value; ///< the first non-empty value, trimmed
    bool conflict = false;                 ///< another non-empty value differed
};

/// The request headers keygate reads, gathered in one pass over the fields (a dozen
/// separate lookups would cost more than the decision itself). Views point into the
/// request's fields, which must outlive this.
struct RequestHeaders {
    std::span<const HeadField>
        all;               ///< every field, for the rare lookups (X-Forwarded-For, X-Dataset)
    std::size_t count = 0; ///< number of header fields
    std::size_t bytes = 0; ///< names + values + 4 per field (": ", CRLF)

    // The original method and URI: each may be repeated only with the same value.
    SingleValue original_method;  ///< X-Original-Method
    SingleValue original_uri;     ///< X-Original-URI
    SingleValue forwarded_method; ///< X-Forwarded-Method
    SingleValue forwarded_uri;    ///< X-Forwarded-Uri
    // The last value of each (the one the nearest proxy appended).
    std::optional<std::string_view> real_ip; ///< X-Real-IP
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> content_length;
    std::optional<std::string_view> content_encoding;
    std::optional<std::string_view> transfer_encoding;
    std::optional<std::string_view> user_agent;
    std::optional<std::string_view> request_id;  ///< X-Request-Id
    std::optional<std::string_view> traceparent; ///< W3C traceparent (the first one)
    bool has_forwarded_for = false;              ///< X-Forwarded-For present

    SingleValue key;                         ///< the settings.header header
    SingleValue authorization;               ///< Authorization
    std::optional<std::string_view> dataset; ///< the first non-empty X-Dataset
    bool dataset_repeated = false;           ///< more than one non-empty X-Dataset
};

/// Gathers the headers keygate reads; `key_header` is settings.header (any case).
RequestHeaders gather_request_headers(std::span<const HeadField> headers,
                                      std::string_view key_header);

/// The original method and URI an auth endpoint is asked about.
struct OriginalTarget {
    std::string method = "GET"; ///< upper case
    std::string uri = "/";      ///< raw bytes, as the proxy sent them
    bool ambiguous = false;     ///< row 0: the headers disagree, or the method is no token
};

/// Which headers an endpoint takes the original method and URI from (one source each, so
/// that a header a client sends cannot stand in for the one its proxy sets).
enum class TargetSource {
    original,  ///< /auth/nginx: X-Original-Method / X-Original-URI only
    forwarded, ///< /auth/forward (Traefik, Caddy): X-Forwarded-Method / X-Forwarded-Uri only
    either,    ///< /auth: X-Original-* else X-Forwarded-*; both present and different: ambiguous
};

/// The original method and URI from the headers of `source`; neither present: GET /. A
/// header repeated with different values, or (for `either`) X-Original-* and X-Forwarded-*
/// of one kind both present and different, makes the target ambiguous.
OriginalTarget original_from_headers(const RequestHeaders& headers, TargetSource source);

/// True when a raw request target is "/auth/envoy", or starts with "/auth/envoy/" or
/// "/auth/envoy?".
bool is_envoy_target(std::string_view raw_target);

/// For /auth/envoy/...: the raw request target after "/auth/envoy" ("/" when nothing
/// follows), with the request's own method. nullopt when the target has no such prefix.
std::optional<OriginalTarget> original_from_envoy_target(std::string_view raw_target,
                                                         std::string_view method);

/// For Envoy's gRPC Check: the method and path of attributes.request.http (the path is the
/// raw request target, query included, never decoded). An empty method is GET, an empty
/// path "/"; a method that is no token makes the target ambiguous (row 0).
OriginalTarget original_from_check(std::string_view method, std::string_view path);

/// One hop of X-Forwarded-For: "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:80", "2001:db8::1";
/// nullopt for anything else ("unknown", obfuscated names).
std::optional<IpAddress> parse_forwarded_hop(std::string_view hop);

/// The client address: `peer` unless it is in `trusted`; then the last X-Real-IP, else
/// X-Forwarded-For (all its headers, in order) read right to left skipping trusted hops (all
/// hops trusted: the leftmost). A hop that is not an address stops the walk at the last
/// address read. No other header counts (not REMOTE_ADDR, not Forwarded).
IpAddress resolve_client_ip(const IpAddress& peer, const std::vector<Cidr>& trusted,
                            const RequestHeaders& headers);

/// True when `ip` lies in one of `ranges`.
bool in_ranges(const IpAddress& ip, const std::vector<Cidr>& ranges);

/// The key the request presents: the settings.header header, else Authorization: Bearer,
/// else `query_key`; different values (also of a repeated header) are a conflict.
KeySelection select_request_key(const RequestHeaders& headers,
                                std::optional<std::string_view> query_key);

/// X-Dataset: nullopt when absent or empty; repeated headers with different values are
/// joined with ',' (never a valid dataset name, so such a request is denied).
std::optional<std::string> header_dataset(const RequestHeaders& headers);

/// The `dataset` field of a JSON object body, when `content_type` is application/json (or
/// +json). A string is returned as is; null or absent is nullopt; any other value, or the
/// field given twice, yields a text that is never a valid dataset name (so the request is
/// denied rather than a second reader seeing a different dataset). A body that is not a
/// JSON object names no dataset.
std::optional<std::string> body_dataset(std::string_view content_type, std::string_view body);

/// The trace id (32 lowercase hex digits) of a W3C `traceparent` value
/// ("00-<trace id>-<parent id>-<flags>"); nullopt for a malformed one, version ff, or an
/// all-zero id.
std::optional<std::string_view> trace_id_of(std::string_view traceparent);

/// The AuthRequest of an auth endpoint: key, original target, client address, datasets.
AuthRequest map_auth_request(const RequestHeaders& headers, const OriginalTarget& target,
                             const IpAddress& peer, const Settings& settings,
                             std::string_view body);

} // namespace keygate
