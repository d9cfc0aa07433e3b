// Decision -> status, headers, body.
#include "server/auth_response.hpp"

#include "core/time.hpp"
#include "infra/json_text.hpp"

namespace keygate {
namespace {

constexpr const char* k_json = "application/json";

/// Adds a response header. Callers add headers in case-insensitive name order, so the insert
/// with the end() hint compares once: httplib's header map compares names with tolower() per
/// character, and a plain insert walks the tree. (A name out of order is still placed right,
/// only slower.) A value holding CR or LF is dropped, as Response::set_header() does.
void add_header(httplib::Response& res, const char* name, std::string value) {
    // Two memchr calls (find_first_of would call memchr once per character of `value`).
    if (value.find('\r') != std::string::npos || value.find('\n') != std::string::npos)
        return;
    res.headers.emplace_hint(res.headers.end(), name, std::move(value));
}

} // namespace

int answer_status(DecisionCode code, StatusStyle style) {
    const int status = http_status(code);
    if (style == StatusStyle::nginx && status != 200 && status != 401 && status != 403) {
        return 403;
    }
    return status;
}

std::string sanitize_header_value(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    for (const char c : text.substr(0, max_bytes)) {
        const auto byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte >= 0x7F) ? '?' : c;
    }
    return out;
}

std::string error_body(std::string_view code, std::string_view detail) {
    std::string body = R"({"detail":)";
    append_json_string(body, detail);
    body += R"(,"code":)";
    append_json_string(body, code);
    body += '}';
    return body;
}

void write_error(httplib::Response& res, int status, std::string_view code,
                 std::string_view detail) {
    res.status = status;
    res.set_header("X-Auth-Error-Code", std::string(code));
    res.set_header("X-Auth-Error-Detail", sanitize_header_value(detail));
    res.set_content(error_body(code, detail), k_json);
}

void write_identity_headers(httplib::Response& res, const Decision& decision) {
    const ResolvedKey& key = *decision.key;
    if (decision.grace_until)
        res.set_header("Sunset", format_http_date(*decision.grace_until));
    // In case-insensitive name order (see add_header).
    add_header(res, "X-Auth-Datasets", key.datasets_header());
    if (!key.denied_header().empty())
        add_header(res, "X-Auth-Datasets-Denied", key.denied_header());
    if (decision.grace_until)
        add_header(res, "X-Auth-Key-Grace-Until", format_timestamp(*decision.grace_until));
    add_header(res, "X-Auth-Key-Id", key.entry.id);
    add_header(res, "X-Auth-Permissions", key.permissions_header());
    add_header(res, "X-Auth-RLS", key.bypass_rls ? "bypass" : "apply");
    add_header(res, "X-Auth-Role", key.entry.role);
    if (key.entry.tenant)
        add_header(res, "X-Auth-Tenant", *key.entry.tenant);
}

void write_rate_limit_headers(httplib::Response& res, const RateLimitView& view, bool limited) {
    // These three sort before the X-* headers already present: a plain (correct) insert.
    if (!view.ratelimit.empty())
        add_header(res, "RateLimit", view.ratelimit);
    if (!view.policy.empty())
        add_header(res, "RateLimit-Policy", view.policy);
    if (limited)
        add_header(res, "Retry-After", std::to_string(std::max<std::uint64_t>(view.retry_after, 1)));
    // These sort after every X-Auth-* header: appended with one comparison each.
    add_header(res, "X-RateLimit-Limit", std::to_string(view.limit));
    add_header(res, "X-RateLimit-Remaining", std::to_string(view.remaining));
    add_header(res, "X-RateLimit-Reset", std::to_string(view.reset_seconds));
}

void write_decision(httplib::Response& res, const Decision& decision, const RateLimitView* rate,
                    const std::string& key_header, StatusStyle style) {
    res.status = answer_status(decision.code, style);
    // The decision's own headers first, in name order (add_header), then the rate limits.
    if (decision.allowed()) {
        write_identity_headers(res, decision);
    } else {
        const char* code = code_name(decision.code);
        const std::string detail = detail_text(decision);
        if (http_status(decision.code) == 401)
            add_header(res, "WWW-Authenticate", "ApiKey header=\"" + key_header + "\"");
        add_header(res, "X-Auth-Error-Code", code);
        add_header(res, "X-Auth-Error-Detail", sanitize_header_value(detail));
        res.set_content(error_body(code, detail), k_json);
    }
    if (rate != nullptr) {
        write_rate_limit_headers(res, *rate, decision.code == DecisionCode::rate_limited);
    }
}

} // namespace keygate
