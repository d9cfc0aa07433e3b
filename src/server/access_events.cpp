// Validation and enrichment of access events.
#include "server/access_events.hpp"

#include "core/ip_address.hpp"
#include "core/json_depth.hpp"
#include "core/time.hpp"

namespace keygate {
namespace {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

enum class Kind { string, integer, number, object };

struct Field {
    const char* name;
    Kind kind;
    bool required;
};

constexpr Field k_fields[] = {
    {"endpoint", Kind::string, true},    {"dataset", Kind::string, false},
    {"method", Kind::string, false},     {"status", Kind::integer, false},
    {"rows", Kind::integer, false},      {"duration_ms", Kind::number, false},
    {"ip_address", Kind::string, false}, {"user_agent", Kind::string, false},
    {"request_id", Kind::string, false}, {"timestamp", Kind::string, false},
    {"key_id", Kind::string, false},     {"extra", Kind::object, false},
};

const char* kind_name(Kind kind) {
    switch (kind) {
    case Kind::string:
        return "a string";
    case Kind::integer:
        return "a non-negative integer";
    case Kind::number:
        return "a non-negative number";
    case Kind::object:
        return "an object";
    }
    return "?";
}

bool has_kind(const json& value, Kind kind) {
    switch (kind) {
    case Kind::string:
        return value.is_string();
    case Kind::integer:
        return value.is_number_unsigned() ||
               (value.is_number_integer() && value.get<long long>() >= 0);
    case Kind::number:
        return value.is_number() && value.get<double>() >= 0;
    case Kind::object:
        return value.is_object();
    }
    return false;
}

Expected<ordered, std::string> validate(const json& in) {
    if (!in.is_object())
        return Unexpected(std::string("must be an object"));
    for (const auto& [name, value] : in.items()) {
        bool known = false;
        for (const Field& f : k_fields)
            known = known || name == f.name;
        if (!known)
            return Unexpected("unknown field '" + name.substr(0, 64) + "'");
        (void)value;
    }
    ordered out{{"event", "access"}};
    for (const Field& f : k_fields) {
        const auto it = in.find(f.name);
        if (it == in.end() || it->is_null()) {
            if (f.required)
                return Unexpected(std::string("missing '") + f.name + "'");
            continue;
        }
        if (!has_kind(*it, f.kind)) {
            return Unexpected(std::string("'") + f.name + "' must be " + kind_name(f.kind));
        }
        if (std::string_view(f.name) == "ip_address" && !parse_ip(it->get<std::string>())) {
            return Unexpected(std::string("'ip_address' is not an IP address"));
        }
        if (std::string_view(f.name) == "timestamp" && !parse_timestamp(it->get<std::string>())) {
            return Unexpected(std::string("'timestamp' is not an RFC 3339 timestamp"));
        }
        if (std::string_view(f.name) == "status" && it->get<long long>() > 999) {
            return Unexpected(std::string("'status' must be an HTTP status"));
        }
        out[f.name] = ordered::parse(it->dump());
    }
    return out;
}

} // namespace

Expected<std::vector<ordered>, AccessBatchError> parse_access_batch(std::string_view body) {
    // `extra` is dumped (recursively) below and in the audit line: bound its depth first.
    if (json_nesting_exceeds(body)) {
        return Unexpected(AccessBatchError{400, "body is nested too deeply"});
    }
    json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
        return Unexpected(AccessBatchError{400, "body is not valid JSON"});
    }
    std::vector<ordered> events;
    if (parsed.is_object()) {
        auto event = validate(parsed);
        if (!event)
            return Unexpected(AccessBatchError{400, "event: " + event.error()});
        events.push_back(std::move(*event));
        return events;
    }
    if (!parsed.is_array()) {
        return Unexpected(AccessBatchError{400, "body must be an event object or an array"});
    }
    if (parsed.size() > k_max_access_batch) {
        return Unexpected(AccessBatchError{413, "at most " + std::to_string(k_max_access_batch) +
                                                    " events per batch"});
    }
    events.reserve(parsed.size());
    for (std::size_t i = 0; i < parsed.size(); ++i) {
        auto event = validate(parsed[i]);
        if (!event) {
            return Unexpected(
                AccessBatchError{400, "event " + std::to_string(i) + ": " + event.error()});
        }
        events.push_back(std::move(*event));
    }
    return events;
}

void enrich_access_event(ordered& event, const AccessKeyContext& context, const KeyStore& store) {
    const ResolvedKey* key = context.key;
    if (key == nullptr && event.contains("key_id")) {
        key = store.find_by_id(event["key_id"].get<std::string>());
    }
    if (context.masked_key)
        event["api_key"] = *context.masked_key;
    if (key == nullptr)
        return;
    event["key_id"] = key->entry.id;
    event["tenant"] = key->entry.tenant ? ordered(*key->entry.tenant) : ordered(nullptr);
    event["role"] = key->entry.role;
}

} // namespace keygate
