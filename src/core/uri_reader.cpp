// Reading an original URI from its raw bytes.
#include "core/uri_reader.hpp"

#include <algorithm>

namespace keygate {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// A byte no decoded segment or dataset value may hold.
bool forbidden_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '/' || c == '\\' || c == '?' || c == '#' || c == '%';
}

bool holds_forbidden_byte(std::string_view text) {
    for (const char c : text) {
        if (forbidden_byte(c))
            return true;
    }
    return false;
}

bool iequals_ascii(std::string_view text, std::string_view lower) {
    if (text.size() != lower.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i])
            return false;
    }
    return true;
}

OriginalUri ambiguous(OriginalUri uri, std::string_view why) {
    uri.ambiguous = true;
    uri.why = why;
    uri.segments.clear();
    uri.datasets.clear();
    uri.api_key.reset();
    return uri;
}

/// Reads the query's parameters into `uri`; false (with uri.why set) when ambiguous.
bool read_query(std::string_view query, OriginalUri& uri) {
    std::string name;
    std::string value;
    while (!query.empty()) {
        const auto separator = query.find_first_of("&;");
        const std::string_view pair = query.substr(0, separator);
        query =
            separator == std::string_view::npos ? std::string_view{} : query.substr(separator + 1);
        if (pair.empty())
            continue;
        const auto eq = pair.find('=');
        const std::string_view raw_name = pair.substr(0, eq);
        const std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (!percent_decode_strict(raw_name, true, name)) {
            // Not a name any reader decodes the same way; it can only matter if it could be
            // one keygate reads.
            uri.why = "invalid escape in a query parameter name";
            return false;
        }
        if (name.find('%') != std::string::npos) {
            uri.why = "double-encoded query parameter name";
            return false;
        }
        const bool is_dataset = iequals_ascii(name, "dataset");
        const bool is_api_key = name == "api_key";
        if (!is_dataset && !is_api_key)
            continue;
        if (!percent_decode_strict(raw_value, true, value) || holds_forbidden_byte(value) ||
            !valid_utf8(value)) {
            uri.why = "unreadable dataset or api_key parameter";
            return false;
        }
        if (is_dataset) {
            uri.datasets.push_back(value);
        } else if (!uri.api_key) {
            uri.api_key = value;
        }
    }
    return true;
}

} // namespace

bool percent_decode_strict(std::string_view text, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size())
                return false; // fewer than two characters follow
            const int hi = hex_digit(text[i + 1]);
            const int lo = hex_digit(text[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return true;
}

bool valid_utf8(std::string_view bytes) {
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    while (i < n) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned min = 0;
        unsigned code = 0;
        if ((b0 & 0xe0) == 0xc0) {
            length = 2, min = 0x80, code = b0 & 0x1fu;
        } else if ((b0 & 0xf0) == 0xe0) {
            length = 3, min = 0x800, code = b0 & 0x0fu;
        } else if ((b0 & 0xf8) == 0xf0) {
            length = 4, min = 0x10000, code = b0 & 0x07u;
        } else {
            return false;
        }
        if (i + length > n)
            return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto b = static_cast<unsigned char>(bytes[i + k]);
            if ((b & 0xc0) != 0x80)
                return false;
            code = (code << 6) | (b & 0x3fu);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return false;
        i += length;
    }
    return true;
}

OriginalUri read_original_uri(std::string_view raw) {
    OriginalUri uri;
    // A request target never holds a fragment (RFC 9112), but nginx passes a raw '#' on, and
    // a backend may read it as part of the path ("/v1/datasets/orders#/../../customers"):
    // keygate cannot know where the upstream cuts, so the request is ambiguous.
    if (raw.find('#') != std::string_view::npos)
        return ambiguous(std::move(uri), "a raw '#' in the target");
    if (!raw.empty() && raw.front() != '/') {
        // absolute-form "https://host/path?q": drop scheme and authority.
        const auto scheme_end = raw.find("://");
        const auto first_delimiter = raw.find_first_of("/?");
        if (scheme_end == std::string_view::npos || scheme_end == 0 ||
            (first_delimiter != std::string_view::npos && first_delimiter < scheme_end)) {
            return ambiguous(std::move(uri), "neither origin-form nor absolute-form");
        }
        const auto path_start = raw.find_first_of("/?", scheme_end + 3);
        raw = path_start == std::string_view::npos ? std::string_view{} : raw.substr(path_start);
    }
    const auto question = raw.find('?');
    const std::string_view path = raw.substr(0, question);
    uri.path = path.empty() ? "/" : std::string(path);

    std::string decoded;
    // At most one segment per '/': one allocation instead of the vector's 1, 2, 4 growth.
    uri.segments.reserve(static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')));
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t end = std::min(path.find('/', pos), path.size());
        const std::string_view segment = path.substr(pos, end - pos);
        pos = end + 1;
        if (segment.empty())
            continue;
        if (!percent_decode_strict(segment, false, decoded))
            return ambiguous(std::move(uri), "invalid percent escape in the path");
        if (holds_forbidden_byte(decoded))
            return ambiguous(std::move(uri), "a path segment holds / \\ ? # % or a control byte");
        if (!valid_utf8(decoded))
            return ambiguous(std::move(uri), "a path segment is not valid UTF-8");
        if (decoded.find(';') != std::string::npos)
            return ambiguous(std::move(uri), "a ';' path parameter");
        if (decoded == ".")
            continue;
        if (decoded == "..") {
            if (uri.segments.empty())
                return ambiguous(std::move(uri), "'..' above the root");
            uri.segments.pop_back();
            continue;
        }
        uri.segments.push_back(decoded);
    }
    if (question != std::string_view::npos && !read_query(raw.substr(question + 1), uri)) {
        const std::string_view why = uri.why;
        return ambiguous(std::move(uri), why);
    }
    return uri;
}

} // namespace keygate
