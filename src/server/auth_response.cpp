// Decision -> status, headers, body.
#include "server/auth_response.hpp"

#include "core/time.hpp"
#include "infra/json_text.hpp"

namespace keygate {
namespace {

constexpr const char* k_json = "application/json";

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

void write_error(http::Response& res, int status, std::string_view code, std::string_view detail) {
    res.status = status;
    res.set_header("X-Auth-Error-Code", code);
    res.set_header("X-Auth-Error-Detail", sanitize_header_value(detail));
    res.set_content(error_body(code, detail), k_json);
}

void write_identity_headers(http::Response& res, const Decision& decision) {
    const ResolvedKey& key = *decision.key;
    if (decision.grace_until)
        res.set_header("Sunset", format_http_date(*decision.grace_until));
    res.set_header("X-Auth-Datasets", key.datasets_header());
    if (!key.denied_header().empty())
        res.set_header("X-Auth-Datasets-Denied", key.denied_header());
    if (decision.grace_until)
        res.set_header("X-Auth-Key-Grace-Until", format_timestamp(*decision.grace_until));
    res.set_header("X-Auth-Key-Id", key.entry.id);
    res.set_header("X-Auth-Permissions", key.permissions_header());
    res.set_header("X-Auth-RLS", key.bypass_rls ? "bypass" : "apply");
    res.set_header("X-Auth-Role", key.entry.role);
    if (key.entry.tenant)
        res.set_header("X-Auth-Tenant", *key.entry.tenant);
}

void write_rate_limit_headers(http::Response& res, const RateLimitView& view, bool limited) {
    if (!view.ratelimit.empty())
        res.set_header("RateLimit", view.ratelimit);
    if (!view.policy.empty())
        res.set_header("RateLimit-Policy", view.policy);
    if (limited)
        res.set_header("Retry-After", std::to_string(std::max<std::uint64_t>(view.retry_after, 1)));
    res.set_header("X-RateLimit-Limit", std::to_string(view.limit));
    res.set_header("X-RateLimit-Remaining", std::to_string(view.remaining));
    res.set_header("X-RateLimit-Reset", std::to_string(view.reset_seconds));
}

void write_decision(http::Response& res, const Decision& decision, const RateLimitView* rate,
                    const std::string& key_header, StatusStyle style) {
    res.status = answer_status(decision.code, style);
    // The decision's own headers first, then the rate limits.
    if (decision.allowed()) {
        write_identity_headers(res, decision);
    } else {
        const char* code = code_name(decision.code);
        const std::string detail = detail_text(decision);
        if (http_status(decision.code) == 401)
            res.set_header("WWW-Authenticate", "ApiKey header=\"" + key_header + "\"");
        res.set_header("X-Auth-Error-Code", code);
        res.set_header("X-Auth-Error-Detail", sanitize_header_value(detail));
        res.set_content(error_body(code, detail), k_json);
    }
    if (rate != nullptr) {
        write_rate_limit_headers(res, *rate, decision.code == DecisionCode::rate_limited);
    }
}

} // namespace keygate
