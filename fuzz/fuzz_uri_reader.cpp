// Fuzz target: the one URI reader (core/uri_reader.hpp) against the ways a typical backend
// reads the same bytes. The property of the trust-boundary tests, without a proxy: whenever
// keygate decides a URI (it is not ambiguous), a backend that percent-decodes the whole path
// and then resolves dot segments — as many frameworks do, also one that takes '\' for '/'
// and one that strips ';' path parameters as servlet containers do — serves the very
// segments keygate decided, and every `dataset` query parameter such a backend reads is one
// keygate checked. So no request can name a dataset, through the path or the query, that
// keygate did not see.
//
// Input: the raw URI bytes (a header value or request target), as is.
#include "core/uri_reader.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace keygate;
using Segments = std::vector<std::string>;

int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// A lenient decoder (as Python's unquote, Go's PathUnescape on valid input): invalid escapes
/// stay literal.
std::string lenient_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex(text[i + 1]);
            const int lo = hex(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plus_is_space && text[i] == '+') ? ' ' : text[i];
    }
    return out;
}

/// Splits a decoded path at `separators`, drops empty and '.' segments, resolves '..'.
Segments resolve(std::string_view path, std::string_view separators) {
    Segments out;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        std::size_t end = path.find_first_of(separators, pos);
        if (end == std::string_view::npos)
            end = path.size();
        const std::string_view segment = path.substr(pos, end - pos);
        pos = end + 1;
        if (segment.empty() || segment == ".")
            continue;
        if (segment == "..") {
            if (!out.empty())
                out.pop_back();
            continue;
        }
        out.emplace_back(segment);
    }
    return out;
}

std::string strip_parameter(std::string_view segment) {
    // (raw segment: an encoded ';' is not a parameter to a servlet container)
    return std::string(segment.substr(0, segment.find(';')));
}

/// A servlet container: path parameters cut from each raw segment first, then decoded.
Segments servlet_segments(std::string_view raw_path) {
    std::string stripped;
    std::size_t pos = 0;
    while (pos <= raw_path.size()) {
        const std::size_t end = std::min(raw_path.find('/', pos), raw_path.size());
        stripped += strip_parameter(raw_path.substr(pos, end - pos));
        if (end < raw_path.size())
            stripped += '/';
        pos = end + 1;
    }
    return resolve(lenient_decode(stripped, false), "/");
}

/// The `dataset` parameters a lenient backend reads (split at '&' and ';').
Segments backend_datasets(std::string_view query) {
    Segments out;
    while (!query.empty()) {
        const auto cut = query.find_first_of("&;");
        const std::string_view pair = query.substr(0, cut);
        query = cut == std::string_view::npos ? std::string_view{} : query.substr(cut + 1);
        const auto eq = pair.find('=');
        if (lenient_decode(pair.substr(0, eq), true) == "dataset") {
            out.push_back(
                lenient_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true));
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    const OriginalUri uri = read_original_uri(raw);
    if (uri.ambiguous) {
        FUZZ_CHECK(uri.segments.empty() && uri.datasets.empty() && !uri.api_key);
        FUZZ_CHECK(!uri.why.empty());
        return 0;
    }
    for (const std::string& segment : uri.segments) {
        FUZZ_CHECK(!segment.empty() && segment != "." && segment != "..");
        FUZZ_CHECK(valid_utf8(segment));
        FUZZ_CHECK(segment.find(';') == std::string::npos);
    }

    // The path and query as a backend sees them (keygate's rules for the fragment and the
    // absolute form are checked by the unit tests; here only origin-form matters).
    const std::string_view target = raw;
    if (!target.starts_with('/'))
        return 0;
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string decoded = lenient_decode(path, false);

    FUZZ_CHECK(resolve(decoded, "/") == uri.segments);
    FUZZ_CHECK(resolve(decoded, "/\\") == uri.segments);
    // A servlet container serves the same segments, but for the ';' parameters it cuts off
    // (a segment that would be empty or a dot segment without them is ambiguous to keygate).
    const Segments servlet = servlet_segments(path);
    FUZZ_CHECK(servlet.size() == uri.segments.size());
    for (std::size_t i = 0; i < servlet.size(); ++i) {
        const std::string& decided = uri.segments[i];
        FUZZ_CHECK(servlet[i] == decided || (decided.find(';') != std::string::npos &&
                                             decided.starts_with(servlet[i])));
    }

    if (question != std::string_view::npos) {
        for (const std::string& dataset : backend_datasets(target.substr(question + 1))) {
            bool seen = false;
            for (const std::string& checked : uri.datasets)
                seen = seen || checked == dataset;
            FUZZ_CHECK(seen);
        }
    }
    return 0;
}
