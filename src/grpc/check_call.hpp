#pragma once
// One Check, decided: a CheckRequest in, the CheckResponse and the call's gRPC status out,
// through HttpApi::answer_question(), the path of /auth/envoy (CONTRACT §6). Shared by
// whatever runs the calls (grpc/check_workers.*), so that the decision does not depend on it.
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "server/http_api.hpp"

#include <grpcpp/support/status.h>

namespace keygate {

/// Decides `request` into `response`. OK with the CheckResponse of the decision (allowed or
/// denied); UNAVAILABLE when no decision can be made (no key set loaded), so that Envoy
/// applies failure_mode_allow; INTERNAL (never quoting the request) on an exception.
grpc::Status answer_check(HttpApi& api, const envoy::service::auth::v3::CheckRequest& request,
                          envoy::service::auth::v3::CheckResponse& response);

} // namespace keygate
