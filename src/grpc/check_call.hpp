#pragma once
// One Check, decided: a CheckRequest's bytes in, the CheckResponse's bytes and the call's
// gRPC status out, through HttpApi::answer_question(), the path of /auth/envoy (CONTRACT §6).
// Shared by whatever runs the calls (grpc/check_workers.*), so that the decision does not
// depend on it.
#include "grpc/check_mapping.hpp"
#include "server/http_api.hpp"

#include <grpcpp/support/status.h>
#include <string>
#include <string_view>

namespace keygate {

/// Decides the CheckRequest `request` (wire bytes), appending the CheckResponse's bytes to
/// `response`. OK with the CheckResponse of the decision (allowed or denied);
/// INVALID_ARGUMENT when the bytes are no CheckRequest; UNAVAILABLE when no decision can be
/// made (no key set loaded), so that Envoy applies failure_mode_allow; INTERNAL (never
/// quoting the request) on an exception. `question` is the caller's to reuse across calls.
grpc::Status answer_check(HttpApi& api, std::string_view request, CheckQuestion& question,
                          std::string& response);

} // namespace keygate
