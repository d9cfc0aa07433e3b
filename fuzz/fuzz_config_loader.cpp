// Fuzz target: load_config_text with any text (the key file is edited by hand and by GitOps
// tooling, and a reload must never bring the server down, whatever the file holds).
#include "core/config_loader.hpp"
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

const keygate::LoadOptions& options() {
    static const keygate::LoadOptions opts = [] {
        keygate::LoadOptions o;
        // A pepper, so that hmac-sha256 hashes load too; obviously fake.
        o.hash_pepper = "fuzz-pepper-not-a-secret-0001";
        o.now = *keygate::parse_timestamp("2025-03-01T12:00:00Z");
        return o;
    }();
    return opts;
}

void check_diagnostics(std::string_view text, const keygate::LoadResult& result) {
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const keygate::Diagnostic& d : result.diagnostics.items) {
        FUZZ_CHECK(!d.message.empty());
        FUZZ_CHECK(d.line >= 0 && d.line <= lines + 1);
        FUZZ_CHECK(d.column >= 0);
        const std::string formatted = keygate::format_diagnostic("keys.yaml", d);
        FUZZ_CHECK(formatted.find(d.message) != std::string::npos);
    }
}

void check_config(const keygate::Config& config) {
    FUZZ_CHECK(!config.settings.header.empty());
    std::set<std::string> ids;
    for (const keygate::KeyEntry& entry : config.api_keys) {
        FUZZ_CHECK(!entry.id.empty() && entry.id.size() <= 64);
        FUZZ_CHECK(ids.insert(entry.id).second);
        FUZZ_CHECK(config.find_role(entry.role) != nullptr);
    }
    // What a reload does next: the validated config must build a store that finds every key.
    const auto store = keygate::KeyStore::build(config, options().hash_pepper);
    FUZZ_CHECK(store != nullptr);
    FUZZ_CHECK(store->keys().size() == config.api_keys.size());
    for (const keygate::KeyEntry& entry : config.api_keys) {
        const keygate::ResolvedKey* key = store->find_by_id(entry.id);
        FUZZ_CHECK(key != nullptr && key->entry.id == entry.id);
        for (const std::string& permission : key->permissions())
            FUZZ_CHECK(key->has_permission(permission));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const keygate::LoadResult result = keygate::load_config_text(text, options());
        // The config is set exactly when there is no error.
        FUZZ_CHECK(result.config.has_value() == !result.diagnostics.failed());
        FUZZ_CHECK(result.config.has_value() || result.diagnostics.error_count() > 0);
        check_diagnostics(text, result);
        if (result.config)
            check_config(*result.config);
    } catch (...) {
        // load_config_text promises never to throw.
        FUZZ_CHECK(!"an exception escaped load_config_text");
    }
    return 0;
}
