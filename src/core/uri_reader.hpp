#pragma once
// The one reader of an original URI (CONTRACT §5). Every endpoint that takes a path uses it:
// /auth, /auth/nginx, /auth/forward (from a header), /auth/envoy/... (its own request
// target), /v1/authorize's `path` and `keygate check --path`.
//
// The URI is read as the raw bytes the proxy sent, never percent-decoded as a whole: it is
// cut at the first '?' (the query), the path is split at '/',
// each segment is decoded once, empty segments are dropped and '.' / '..' resolved. Anything
// two readers could understand differently makes the request ambiguous (row 0), so that
// keygate never decides a path other than the one the upstream will serve:
// - a decoded segment holding '/', '\', '?', '#', '%', NUL or another control byte (an
//   encoded separator, a double encoding, a byte a backend may cut at);
// - a decoded segment that is not valid UTF-8 (overlong forms such as %c0%ae are read as
//   '.' by some decoders);
// - a ';' in a segment: servlet containers cut path parameters off ("datasets;x" is
//   "datasets" to them, "..;" is "..");
// - a raw '#': no request target holds a fragment, and backends differ on where it ends;
// - a '..' above the root;
// - a target that is neither origin-form ("/...") nor absolute-form ("scheme://host/...").
// The query is read with the same care: parameters are split at '&' and ';', names and
// values decoded once ('+' is a space); a name that still holds '%' after decoding, or a
// `dataset` / `api_key` value holding a byte listed above, is ambiguous, and `dataset` is
// matched case-insensitively (a case-insensitive backend reads "DataSet" too).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// What read_original_uri() found in an original URI.
struct OriginalUri {
    std::string path = "/";             ///< the raw path, without query and fragment (for logs)
    std::vector<std::string> segments;  ///< decoded per segment, dot segments resolved
    std::vector<std::string> datasets;  ///< every `dataset` query parameter, decoded
    std::optional<std::string> api_key; ///< the first `api_key` query parameter, decoded
    bool ambiguous = false;             ///< row 0: two readers could see different requests
    std::string_view why;               ///< for an ambiguous URI: which rule (static text)
};

/// Reads a raw original URI ("/v1/datasets/orders/rows?dataset=a"). An empty URI is "/".
/// Pure and total: every input yields a result, an unreadable one is `ambiguous`.
OriginalUri read_original_uri(std::string_view raw);

/// Percent-decodes `text` once; false (and `out` unspecified) when a '%' does not start a
/// valid escape. With `plus_is_space`, '+' becomes ' ' (query components).
bool percent_decode_strict(std::string_view text, bool plus_is_space, std::string& out);

/// True when `bytes` is valid UTF-8 (no overlong form, no surrogate, at most U+10FFFF).
bool valid_utf8(std::string_view bytes);

} // namespace keygate
