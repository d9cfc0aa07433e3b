// CheckRequest -> decision -> CheckResponse.
#include "grpc/check_call.hpp"

namespace keygate {

grpc::Status answer_check(HttpApi& api, std::string_view request, CheckQuestion& question,
                          std::string& response) {
    try {
        if (!read_check_request(request, question))
            return {grpc::StatusCode::INVALID_ARGUMENT, "malformed CheckRequest"};
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
