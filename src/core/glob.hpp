#pragma once
// Dataset globs (`*`, `?`) and route patterns (`*`, `**`, `{name}` over path segments).
#include "core/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate {

/// Matches a dataset glob: `*` any run of characters, `?` one character, all else literal.
bool glob_match(std::string_view pattern, std::string_view text);

/// One segment of a route pattern.
struct RouteSegment {
    enum class Kind { literal, glob, any_one, any_many, capture };
    Kind kind = Kind::literal;
    std::string text; ///< the literal, the glob, or the capture's name
};

/// A parsed route path pattern such as "/v1/datasets/{dataset}/**".
struct RoutePattern {
    std::vector<RouteSegment> segments;
    std::string text; ///< as written
};

/// Parses a route pattern. It must start with '/'; `{name}` must fill a whole segment.
Result<RoutePattern> parse_route_pattern(std::string_view text);

/// The captures of a successful route match, in pattern order: (name, segment) views into
/// the pattern and the segments, valid as long as both are (no copy per request).
using RouteCaptures = std::vector<std::pair<std::string_view, std::string_view>>;

/// How route literals and globs compare with path segments.
enum class RouteCase {
    exact, ///< byte for byte (how keygate decides)
    fold,  ///< ASCII case-insensitively (how a case-insensitive backend would route)
};

/// Matches already-split path segments against a pattern; nullopt when it does not match.
/// The captures view `pattern` and `segments`: keep both alive while using them.
std::optional<RouteCaptures> match_route(const RoutePattern& pattern,
                                         const std::vector<std::string>& segments,
                                         RouteCase route_case = RouteCase::exact);

/// Splits a path into segments, percent-decoding each one when `decode` is set (so an
/// encoded slash stays inside its segment), resolving "." and ".." (also when encoded)
/// and dropping empty segments (repeated and trailing slashes).
std::vector<std::string> split_path(std::string_view path, bool decode);

/// Percent-decodes `%XX` escapes; invalid escapes stay literal. '+' is kept.
std::string percent_decode(std::string_view text);

} // namespace keygate
