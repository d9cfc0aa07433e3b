// Bounded, always-valid JSON lines.
#include "infra/audit_line.hpp"

#include <algorithm>

namespace keygate {
namespace {

std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

/// Cuts a string to at most `max` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(const std::string& s, std::size_t max) {
    if (s.size() <= max)
        return s;
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
        --end;
    return s.substr(0, end) + "...";
}

/// The longest string value at any depth, or nullptr.
nlohmann::ordered_json* longest_string(nlohmann::ordered_json& j) {
    nlohmann::ordered_json* best = nullptr;
    if (j.is_string())
        return &j;
    if (!j.is_structured())
        return nullptr;
    for (auto& child : j) {
        nlohmann::ordered_json* candidate = longest_string(child);
        if (candidate != nullptr &&
            (best == nullptr || candidate->get_ref<const std::string&>().size() >
                                    best->get_ref<const std::string&>().size())) {
            best = candidate;
        }
    }
    return best;
}

} // namespace

std::string to_audit_line(nlohmann::ordered_json event) {
    std::string line = dump(event);
    if (line.size() <= k_max_audit_line)
        return line;
    const std::string kind = event.value("event", "unknown");
    const std::string timestamp = event.value("timestamp", "");
    event["truncated"] = true;
    for (int round = 0; round < 64 && line.size() > k_max_audit_line; ++round) {
        nlohmann::ordered_json* field = longest_string(event);
        if (field == nullptr)
            break;
        const auto& text = field->get_ref<const std::string&>();
        if (text.size() <= 64)
            break; // only short fields left: the shape itself is too big
        const std::size_t excess = line.size() - k_max_audit_line;
        // Escapes can make a byte cost up to 6 in the output: cut generously.
        const std::size_t keep = text.size() > excess + 16
                                     ? std::min(text.size() - excess - 16, text.size() / 2 + 64)
                                     : 0;
        *field = cut_utf8(text, keep);
        line = dump(event);
    }
    if (line.size() > k_max_audit_line) {
        // Pathological shapes (thousands of keys in `extra`): keep the envelope only.
        const nlohmann::ordered_json small{
            {"event", kind}, {"timestamp", timestamp}, {"truncated", true}};
        line = dump(small);
    }
    return line;
}

} // namespace keygate
