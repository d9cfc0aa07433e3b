// Dataset globs, route patterns and path splitting.
#include "core/glob.hpp"

namespace keygate {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_capture_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok)
            return false;
    }
    return !(name[0] >= '0' && name[0] <= '9');
}

char fold(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (fold(a[i]) != fold(b[i]))
            return false;
    }
    return true;
}

std::string folded(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = fold(c);
    return out;
}

bool match_from(const std::vector<RouteSegment>& pattern, std::size_t pi,
                const std::vector<std::string>& segments, std::size_t si, RouteCaptures& captures,
                RouteCase route_case) {
    for (; pi < pattern.size(); ++pi) {
        const RouteSegment& seg = pattern[pi];
        if (seg.kind == RouteSegment::Kind::any_many) {
            // `**` takes zero or more segments: try the shortest first.
            for (std::size_t take = si; take <= segments.size(); ++take) {
                const std::size_t mark = captures.size();
                if (match_from(pattern, pi + 1, segments, take, captures, route_case))
                    return true;
                captures.resize(mark);
            }
            return false;
        }
        if (si >= segments.size())
            return false;
        const std::string& text = segments[si];
        switch (seg.kind) {
        case RouteSegment::Kind::literal:
            if (route_case == RouteCase::exact ? text != seg.text : !iequals(text, seg.text)) {
                return false;
            }
            break;
        case RouteSegment::Kind::glob:
            if (route_case == RouteCase::exact ? !glob_match(seg.text, text)
                                               : !glob_match(folded(seg.text), folded(text))) {
                return false;
            }
            break;
        case RouteSegment::Kind::any_one:
            break;
        case RouteSegment::Kind::capture:
            captures.emplace_back(seg.text, text);
            break;
        case RouteSegment::Kind::any_many:
            break; // handled above
        }
        ++si;
    }
    return si == segments.size();
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    // Iterative matcher with one backtrack point: linear for typical patterns, never
    // exponential, whatever the input.
    std::size_t p = 0, t = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star_p = p++;
            star_t = t;
        } else if (star_p != std::string_view::npos) {
            p = star_p + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

Result<RoutePattern> parse_route_pattern(std::string_view text) {
    if (text.empty() || text[0] != '/')
        return fail("a route path must start with '/'");
    RoutePattern pattern;
    pattern.text = std::string(text);
    std::size_t pos = 1;
    while (pos <= text.size()) {
        const std::size_t end = std::min(text.find('/', pos), text.size());
        const std::string_view part = text.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty())
            continue;
        RouteSegment seg;
        if (part == "**") {
            seg.kind = RouteSegment::Kind::any_many;
        } else if (part == "*") {
            seg.kind = RouteSegment::Kind::any_one;
        } else if (part.front() == '{' || part.back() == '}') {
            const std::string_view name = part.substr(1, part.size() - 2);
            if (part.size() < 3 || part.front() != '{' || part.back() != '}' ||
                !is_capture_name(name)) {
                return fail("bad capture '" + std::string(part) +
                            "': use {name} for a whole segment");
            }
            seg.kind = RouteSegment::Kind::capture;
            seg.text = std::string(name);
        } else if (part.find("**") != std::string_view::npos) {
            return fail("'**' must be a whole segment");
        } else if (part.find_first_of("*?") != std::string_view::npos) {
            seg.kind = RouteSegment::Kind::glob;
            seg.text = std::string(part);
        } else if (part.find_first_of("{}") != std::string_view::npos) {
            return fail("bad capture '" + std::string(part) + "': use {name} for a whole segment");
        } else {
            seg.text = std::string(part);
        }
        pattern.segments.push_back(std::move(seg));
    }
    return pattern;
}

std::optional<RouteCaptures> match_route(const RoutePattern& pattern,
                                         const std::vector<std::string>& segments,
                                         RouteCase route_case) {
    RouteCaptures captures;
    if (!match_from(pattern.segments, 0, segments, 0, captures, route_case))
        return std::nullopt;
    return captures;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::vector<std::string> split_path(std::string_view path, bool decode) {
    std::vector<std::string> segments;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t end = std::min(path.find('/', pos), path.size());
        const std::string_view raw = path.substr(pos, end - pos);
        pos = end + 1;
        if (raw.empty())
            continue;
        std::string seg = decode ? percent_decode(raw) : std::string(raw);
        if (seg == ".")
            continue;
        if (seg == "..") {
            if (!segments.empty())
                segments.pop_back();
            continue;
        }
        segments.push_back(std::move(seg));
    }
    return segments;
}

} // namespace keygate
