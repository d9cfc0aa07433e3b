#pragma once
// Writing a decision as an HTTP answer (CONTRACT §6): the X-Auth-* headers of an allowed
// request, the JSON body and X-Auth-Error-* headers of a denial, the rate-limit headers.
#include "core/decision.hpp"
#include "http/message.hpp"
#include "infra/rate_limiter.hpp"

#include <string>
#include <string_view>

namespace keygate {

/// How an endpoint reports statuses.
enum class StatusStyle {
    standard, ///< 200, 401, 403, 429
    nginx,    ///< auth_request turns anything but 2xx/401/403 into 500: 429 becomes 403
};

/// The status answered for `code` in `style`.
int answer_status(DecisionCode code, StatusStyle style);

/// `text` fit for a response header: control bytes, DEL and non-ASCII bytes become '?' and
/// the result is cut at `max_bytes`. cpp-httplib 0.11.4 percent-decodes request header
/// values, so request-derived text may hold CR/LF; it must never reach a response header raw.
std::string sanitize_header_value(std::string_view text, std::size_t max_bytes = 256);

/// `{"detail":DETAIL,"code":CODE}`.
std::string error_body(std::string_view code, std::string_view detail);

/// A non-decision error (400, 404, 405, 413, 431, 500, ...): status, JSON body and the
/// X-Auth-Error-Code / X-Auth-Error-Detail headers.
void write_error(http::Response& res, int status, std::string_view code, std::string_view detail);

/// The identity headers of an allowed request (X-Auth-Key-Id, -Tenant, -Role, -Permissions,
/// -Datasets, -Datasets-Denied, -RLS) and, for a grace/previous secret,
/// X-Auth-Key-Grace-Until and Sunset. `decision.key` must be set.
void write_identity_headers(http::Response& res, const Decision& decision);

/// X-RateLimit-Limit/-Remaining/-Reset, RateLimit-Policy, RateLimit, and Retry-After when
/// `limited`.
void write_rate_limit_headers(http::Response& res, const RateLimitView& view, bool limited);

/// The whole auth answer: status; identity headers when allowed; JSON body, error headers
/// and (on 401) `WWW-Authenticate: ApiKey header="<key_header>"` when denied; rate-limit
/// headers when `rate` is given. Allowed answers have an empty body.
void write_decision(http::Response& res, const Decision& decision, const RateLimitView* rate,
                    const std::string& key_header, StatusStyle style);

} // namespace keygate
