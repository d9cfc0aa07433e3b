#pragma once
// POST /v1/authorize (CONTRACT §6): the query service asks about one request directly, in a
// JSON body {dataset, permission, method, path, client_ip, consume, api_key}.
#include "core/auth_request.hpp"
#include "core/config.hpp"
#include "core/result.hpp"
#include "server/request_mapping.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// A parsed /v1/authorize question.
struct AuthorizeQuestion {
    AuthRequest request;
    bool consume = true;  ///< false: do not count against rate limits
    std::string endpoint; ///< for the audit log: `path`, else "/v1/authorize"
};

/// Parses the body (empty means {}) and builds the AuthRequest. The key comes from the
/// settings.header / Authorization headers or the body's `api_key` (different values are a
/// conflict). `path` is a raw URI (decoded once). `client_ip` counts only when `peer` is a
/// trusted proxy (otherwise the peer is the client); from a trusted peer without
/// `client_ip`, X-Real-IP / X-Forwarded-For apply as on /auth. Unknown fields are ignored.
/// Errors (malformed JSON, a field of the wrong type, a bad client_ip) are messages for a
/// 400 BAD_REQUEST answer.
Result<AuthorizeQuestion> parse_authorize_request(std::string_view body,
                                                  const RequestHeaders& headers,
                                                  const IpAddress& peer, const Settings& settings);

} // namespace keygate
