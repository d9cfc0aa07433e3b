// Decision -> the /v1/authorize JSON object.
#include "infra/decision_json.hpp"

#include "core/time.hpp"

namespace keygate {

nlohmann::ordered_json decision_json(const Decision& decision) {
    using json = nlohmann::ordered_json;
    json out = json::object();
    out["allowed"] = decision.allowed();
    const ResolvedKey* key = decision.key;
    if (key != nullptr) {
        out["key_id"] = key->entry.id;
        out["tenant"] = key->entry.tenant ? json(*key->entry.tenant) : json(nullptr);
        out["role"] = key->entry.role;
        out["rls"] = key->bypass_rls ? "bypass" : "apply";
        out["permissions"] = key->permissions();
        out["datasets"] = key->allowed_datasets();
        out["datasets_denied"] = key->denied_datasets();
    } else {
        for (const char* field :
             {"key_id", "tenant", "role", "rls", "permissions", "datasets", "datasets_denied"}) {
            out[field] = nullptr;
        }
    }
    out["grace_until"] =
        decision.grace_until ? json(format_timestamp(*decision.grace_until)) : json(nullptr);
    out["code"] = code_name(decision.code);
    out["detail"] = decision.allowed() ? json(nullptr) : json(detail_text(decision));
    if (decision.reason != InvalidKeyReason::none)
        out["reason"] = reason_name(decision.reason);
    return out;
}

} // namespace keygate
