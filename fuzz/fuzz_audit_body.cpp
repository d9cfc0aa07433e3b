// Fuzz target: a POST /v1/audit body, as HttpApi::handle_access_audit and the audit writer
// treat it: parse_access_batch, enrich_access_event, then to_audit_line for each event.
// Every line written must be one valid JSON object under the contract's size bound, and hold
// no full key.
#include "core/key_mask.hpp"
#include "core/key_store.hpp"
#include "fuzz_check.hpp"
#include "infra/audit_line.hpp"
#include "server/access_events.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace keygate;

// Obviously fake: the key the query service presents in the header of some inputs.
constexpr std::string_view k_presented_key = "pk_fuzz_test0001presentedkeynotreal";

const KeyStore& store() {
    static const std::shared_ptr<const KeyStore> s = [] {
        Config config;
        config.roles = builtin_roles();
        KeyEntry analysts;
        analysts.id = "acme-analysts";
        analysts.role = "analyst";
        analysts.tenant = "acme_corp";
        analysts.secret = {HashKind::sha256, sha256(k_presented_key)};
        config.api_keys.push_back(analysts);
        KeyEntry ops;
        ops.id = "ops-admin";
        ops.role = "admin";
        ops.secret = {HashKind::sha256, sha256("pk_fuzz_test0002opskeynotreal")};
        config.api_keys.push_back(ops);
        return KeyStore::build(config);
    }();
    return *s;
}

/// The caller's context, chosen by the input's size so that every path of the enrichment is
/// reached: no key, a presented key that matched, a presented key that did not.
AccessKeyContext context_for(std::size_t size) {
    AccessKeyContext context;
    switch (size % 3) {
    case 1:
        context.key = store().find_by_id("acme-analysts");
        context.masked_key = mask_key(k_presented_key);
        break;
    case 2:
        context.masked_key = mask_key(k_presented_key);
        break;
    default:
        break;
    }
    return context;
}

bool known_field(const std::string& name) {
    for (const char* field :
         {"event", "endpoint", "dataset", "method", "status", "rows", "duration_ms", "ip_address",
          "user_agent", "request_id", "timestamp", "extra", "key_id"}) {
        if (name == field)
            return true;
    }
    return false;
}

void check_line(const std::string& line, bool body_has_key) {
    FUZZ_CHECK(!line.empty() && line.size() <= k_max_audit_line);
    // One line: the writer appends the only newline.
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded() && parsed.is_object());
    FUZZ_CHECK(parsed.value("event", "") == "access");
    if (!body_has_key)
        FUZZ_CHECK(line.find(k_presented_key) == std::string::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    try {
        auto batch = parse_access_batch(body);
        if (!batch) {
            const AccessBatchError& error = batch.error();
            FUZZ_CHECK(error.status == 400 || error.status == 413);
            // The detail names an index and a field; it never echoes a long value.
            FUZZ_CHECK(!error.detail.empty() && error.detail.size() <= 160);
            return 0;
        }
        FUZZ_CHECK(batch->size() <= k_max_access_batch);
        const AccessKeyContext context = context_for(size);
        const bool body_has_key = body.find(k_presented_key) != std::string_view::npos;
        for (nlohmann::ordered_json& event : *batch) {
            FUZZ_CHECK(event.is_object());
            FUZZ_CHECK(event.begin().key() == "event" && event["event"] == "access");
            FUZZ_CHECK(event.contains("endpoint") && event["endpoint"].is_string());
            for (const auto& [name, value] : event.items()) {
                FUZZ_CHECK(known_field(name));
                (void)value;
            }
            enrich_access_event(event, context, store());
            if (context.key != nullptr || event.contains("key_id")) {
                const bool found = context.key != nullptr ||
                                   store().find_by_id(event["key_id"].get<std::string>());
                FUZZ_CHECK(found == event.contains("role"));
            }
            check_line(to_audit_line(event), body_has_key);
        }
    } catch (...) {
        // An exception here would be a 500 for the query service and a lost batch.
        FUZZ_CHECK(!"an exception escaped the audit body path");
    }
    return 0;
}
