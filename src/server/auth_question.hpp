#pragma once
// An auth question that did not arrive as an HTTP auth subrequest (Envoy's gRPC Check), and
// what its decision was, for the answer in that protocol. HttpApi::answer_question() decides
// it on the very path of the HTTP auth endpoints (map, decide, rate limits, audit, metrics).
#include "core/decision.hpp"
#include "core/ip_address.hpp"
#include "http/head_parser.hpp"
#include "infra/metrics.hpp"
#include "server/request_mapping.hpp"

#include <span>
#include <string>
#include <string_view>

namespace keygate {

/// One auth question in the terms of an auth subrequest. Views must outlive the call.
struct AuthQuestion {
    std::span<const HeadField> fields; ///< the request's headers (any case), in order
    OriginalTarget target;             ///< the original method and raw URI
    IpAddress peer;                    ///< the address the proxy saw the request come from
    std::string_view body;             ///< the forwarded body, if any
    DecisionEndpoint endpoint;         ///< the label of metrics and audit lines
};

/// The parts of a decision another protocol reports besides the HTTP answer.
struct AuthSummary {
    bool decided = false; ///< false: no key set is loaded yet (the answer is a 503)
    DecisionCode code = DecisionCode::missing_key;
    std::string key_id;     ///< the matched key's id ("" when no key matched)
    std::string tenant;     ///< its tenant ("" for none)
    std::string role;       ///< its role
    std::string key_header; ///< settings.header, as written in the file
    /// True when the Authorization header holds the decided key as a Bearer token (so that
    /// a proxy can strip it before the upstream sees it).
    bool bearer_holds_key = false;
    /// True when the query's `api_key` parameter holds the decided key (allow_query_key),
    /// so that a proxy can strip it from the upstream's URI.
    bool query_holds_key = false;
};

} // namespace keygate
