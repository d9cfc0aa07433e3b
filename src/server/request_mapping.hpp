#pragma once
// httplib::Request -> AuthRequest (CONTRACT §5): which key, which original method and URI,
// which client address, which datasets. Pure functions over headers, so that each rule is
// unit-tested without a socket.
//
// Every header value here was already percent-decoded once by cpp-httplib 0.11.4 (it
// decodes header values while parsing). The original URI from X-Original-URI or
// X-Forwarded-Uri is therefore parsed with UriEncoding::decoded_once and never decoded a
// second time (that would turn "%2561" into "a"). The /auth/envoy/ path comes from the raw
// request target and is decoded once (UriEncoding::raw).
#include "core/auth_request.hpp"
#include "core/config.hpp"

#include <cstddef>
#include <httplib.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// A header that may be repeated only with the same value.
struct SingleValue {
    std::optional<std::string_view> value; ///< the first non-empty value, trimmed
    bool conflict = false;                 ///< another non-empty value differed
};

/// The request headers keygate reads, gathered in one pass. (A lookup in cpp-httplib's
/// header map calls tolower() for every character it compares: a dozen lookups cost more
/// than the decision itself.) Views point into the header map, which must outlive this.
struct RequestHeaders {
    const httplib::Headers* all = nullptr; ///< for the rare lookups (X-Forwarded-For, X-Dataset)
    std::size_t count = 0;                 ///< number of header fields
    std::size_t bytes = 0;                 ///< names + values + 4 per field (": ", CRLF)

    // The last value of each (the one the nearest proxy appended).
    std::optional<std::string_view> original_method;  ///< X-Original-Method
    std::optional<std::string_view> original_uri;     ///< X-Original-URI
    std::optional<std::string_view> forwarded_method; ///< X-Forwarded-Method
    std::optional<std::string_view> forwarded_uri;    ///< X-Forwarded-Uri
    std::optional<std::string_view> real_ip;          ///< X-Real-IP
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> content_length;
    std::optional<std::string_view> content_encoding;
    std::optional<std::string_view> transfer_encoding;
    std::optional<std::string_view> user_agent;
    std::optional<std::string_view> request_id; ///< X-Request-Id
    bool has_forwarded_for = false;             ///< X-Forwarded-For present

    SingleValue key;                         ///< the settings.header header
    SingleValue authorization;               ///< Authorization
    std::optional<std::string_view> dataset; ///< the first non-empty X-Dataset
    bool dataset_repeated = false;           ///< more than one non-empty X-Dataset
};

/// Gathers the headers keygate reads; `key_header` is settings.header (any case).
RequestHeaders gather_request_headers(const httplib::Headers& headers, std::string_view key_header);

/// The original method and URI an auth endpoint is asked about.
struct OriginalTarget {
    std::string method = "GET"; ///< upper case
    std::string uri = "/";
    UriEncoding encoding = UriEncoding::decoded_once;
};

/// For /auth and /auth/nginx: the pair X-Original-Method / X-Original-URI (nginx) when either
/// is present, else X-Forwarded-Method / X-Forwarded-Uri (Traefik), else GET /. The pair is
/// taken from one proxy only, so a client cannot mix in the other proxy's header.
OriginalTarget original_from_headers(const RequestHeaders& headers);

/// True when a raw request target is "/auth/envoy", or starts with "/auth/envoy/" or
/// "/auth/envoy?".
bool is_envoy_target(std::string_view raw_target);

/// For /auth/envoy/...: the raw request target after "/auth/envoy" ("/" when nothing
/// follows), with the request's own method. nullopt when the target has no such prefix.
std::optional<OriginalTarget> original_from_envoy_target(std::string_view raw_target,
                                                         std::string_view method);

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

/// The AuthRequest of an auth endpoint: key, original target, client address, datasets.
AuthRequest map_auth_request(const RequestHeaders& headers, const OriginalTarget& target,
                             const IpAddress& peer, const Settings& settings,
                             std::string_view body);

} // namespace keygate
