#pragma once
// POST /v1/audit bodies (CONTRACT §7): one access event or an array of at most 1000,
// validated all or nothing, then enriched with what keygate knows of the caller's key.
#include "core/key_store.hpp"
#include "core/result.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// The largest batch POST /v1/audit takes.
inline constexpr std::size_t k_max_access_batch = 1000;

/// Why a batch was refused.
struct AccessBatchError {
    int status = 400;   ///< 400 malformed, 413 too many events
    std::string detail; ///< names the event index and field, never echoes values
};

/// The caller's key as the query service presented it (header), if any.
struct AccessKeyContext {
    const ResolvedKey* key = nullptr;      ///< found by the presented key or by key_id
    std::optional<std::string> masked_key; ///< mask_key of the presented key
};

/// Parses and validates a batch. Each returned event is an `event: access` object with the
/// accepted fields, in the contract's order. Pure.
Expected<std::vector<nlohmann::ordered_json>, AccessBatchError>
parse_access_batch(std::string_view body);

/// Adds key_id, tenant, role and the masked key: from `context` (the presented key), else
/// from the event's own `key_id` looked up in `store`.
void enrich_access_event(nlohmann::ordered_json& event, const AccessKeyContext& context,
                         const KeyStore& store);

} // namespace keygate
