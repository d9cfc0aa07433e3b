// Picking the presented key and reading the original URI.
#include "core/auth_request.hpp"

#include "core/glob.hpp"

namespace keygate {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

/// The key of "Bearer <key>", or nullopt for another scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    if (!iequals(authorization.substr(0, space), "Bearer")) return std::nullopt;
    return trim(authorization.substr(space + 1));
}

} // namespace

KeySelection select_key(const PresentedCredentials& credentials) {
    KeySelection selection;
    const auto offer = [&](std::optional<std::string_view> value) {
        if (!value || value->empty()) return;
        if (!selection.key) {
            selection.key = std::string(*value);
        } else if (*selection.key != *value) {
            selection.conflicting = true;
        }
    };
    if (credentials.header) offer(trim(*credentials.header));
    if (credentials.authorization) offer(bearer_token(*credentials.authorization));
    offer(credentials.query);
    if (selection.conflicting) selection.key.reset();
    return selection;
}

std::string decode_query_component(std::string_view text) {
    std::string plus_as_space(text);
    for (char& c : plus_as_space) {
        if (c == '+') c = ' ';
    }
    return percent_decode(plus_as_space);
}

OriginalUri parse_original_uri(std::string_view uri, UriEncoding encoding) {
    OriginalUri out;
    if (const auto hash = uri.find('#'); hash != std::string_view::npos) uri = uri.substr(0, hash);
    if (!uri.empty() && uri.front() != '/') {
        // absolute-form "https://host/path?q": drop scheme and authority
        const auto scheme_end = uri.find("://");
        if (scheme_end != std::string_view::npos) {
            const auto path_start = uri.find_first_of("/?", scheme_end + 3);
            uri = path_start == std::string_view::npos ? std::string_view{} : uri.substr(path_start);
        }
    }
    const auto question = uri.find('?');
    const std::string_view path = uri.substr(0, question);
    out.path = path.empty() ? "/" : std::string(path);
    const bool decode = encoding == UriEncoding::raw;
    out.segments = split_path(path, decode);
    if (question == std::string_view::npos) return out;

    std::string_view query = uri.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        const auto value_of = [&] {
            return decode ? decode_query_component(value) : std::string(value);
        };
        if (name == "dataset") {
            out.datasets.push_back(value_of());
        } else if (name == "api_key" && !out.api_key) {
            out.api_key = value_of();
        }
    }
    return out;
}

void apply_original_uri(AuthRequest& request, OriginalUri uri) {
    request.path = std::move(uri.path);
    request.segments = std::move(uri.segments);
    request.query_datasets = std::move(uri.datasets);
}

} // namespace keygate
