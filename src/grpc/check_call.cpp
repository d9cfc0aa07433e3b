// CheckRequest -> decision -> CheckResponse.
#include "grpc/check_call.hpp"

#include "grpc/check_mapping.hpp"

namespace keygate {

grpc::Status answer_check(HttpApi& api, const envoy::service::auth::v3::CheckRequest& request,
                          envoy::service::auth::v3::CheckResponse& response) {
    try {
        const CheckQuestion question = read_check_request(request);
        http::Response answer;
        const AuthSummary summary = api.answer_question(question.question(), answer);
        if (!summary.decided) {
            // No key set yet (or an internal error): no decision at all. Envoy applies
            // failure_mode_allow (false: it denies) as for any failed call.
            return {grpc::StatusCode::UNAVAILABLE, "no decision: no key set is loaded"};
        }
        write_check_response(answer, summary, question, response);
        return grpc::Status::OK;
    } catch (...) {
        // Never the exception's text: it may quote the request.
        return {grpc::StatusCode::INTERNAL, "internal error"};
    }
}

} // namespace keygate
