// Names, statuses and details of decision codes: one table for every output.
#include "core/decision.hpp"

namespace keygate {

const char* code_name(DecisionCode code) {
    switch (code) {
#define KEYGATE_X(name, status, text, detail)                                                      \
    case DecisionCode::name:                                                                       \
        return text;
        KEYGATE_DECISION_CODES(KEYGATE_X)
#undef KEYGATE_X
    }
    return "UNKNOWN";
}

int http_status(DecisionCode code) {
    switch (code) {
#define KEYGATE_X(name, status, text, detail)                                                      \
    case DecisionCode::name:                                                                       \
        return status;
        KEYGATE_DECISION_CODES(KEYGATE_X)
#undef KEYGATE_X
    }
    return 500;
}

const char* reason_name(InvalidKeyReason reason) {
    switch (reason) {
    case InvalidKeyReason::none:
        return "";
    case InvalidKeyReason::unknown:
        return "unknown";
    case InvalidKeyReason::checksum:
        return "checksum";
    case InvalidKeyReason::malformed:
        return "malformed";
    case InvalidKeyReason::conflict:
        return "conflict";
    case InvalidKeyReason::grace_ended:
        return "grace_ended";
    }
    return "";
}

namespace {

const char* base_detail(DecisionCode code) {
    switch (code) {
#define KEYGATE_X(name, status, text, detail)                                                      \
    case DecisionCode::name:                                                                       \
        return detail;
        KEYGATE_DECISION_CODES(KEYGATE_X)
#undef KEYGATE_X
    }
    return "";
}

} // namespace

std::string detail_text(const Decision& decision) {
    std::string detail = base_detail(decision.code);
    if (decision.code == DecisionCode::insufficient_permission) {
        detail += ": " + decision.permission;
    } else if (decision.code == DecisionCode::dataset_forbidden) {
        detail += " '" + decision.dataset + "'";
    }
    return detail;
}

bool used_rotated_secret(const Decision& decision) {
    return decision.key != nullptr && decision.source != SecretSource::current &&
           decision.code != DecisionCode::key_disabled &&
           decision.code != DecisionCode::key_expired;
}

} // namespace keygate
