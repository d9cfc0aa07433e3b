// Picking the presented key and reading the original URI.
#include "core/auth_request.hpp"

namespace keygate {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

/// The key of "Bearer <key>", or nullopt for another scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    if (!iequals(authorization.substr(0, space), "Bearer"))
        return std::nullopt;
    return trim(authorization.substr(space + 1));
}

} // namespace

KeySelection select_key(const PresentedCredentials& credentials) {
    KeySelection selection;
    const auto offer = [&](std::optional<std::string_view> value) {
        if (!value || value->empty())
            return;
        if (!selection.key) {
            selection.key = std::string(*value);
        } else if (*selection.key != *value) {
            selection.conflicting = true;
        }
    };
    if (credentials.header)
        offer(trim(*credentials.header));
    if (credentials.authorization)
        offer(bearer_token(*credentials.authorization));
    offer(credentials.query);
    if (selection.conflicting)
        selection.key.reset();
    return selection;
}

void apply_original_uri(AuthRequest& request, OriginalUri uri) {
    request.path = std::move(uri.path);
    request.segments = std::move(uri.segments);
    request.query_datasets = std::move(uri.datasets);
    request.ambiguous = request.ambiguous || uri.ambiguous;
}

} // namespace keygate
