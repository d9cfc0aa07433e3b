// Computing the grace windows of a reload.
#include "core/grace.hpp"

#include <unordered_map>
#include <unordered_set>

namespace keygate {
namespace {

struct SecretKey {
    HashKind kind;
    Digest digest;
    bool operator==(const SecretKey&) const = default;
};
struct SecretKeyHash {
    std::size_t operator()(const SecretKey& k) const noexcept {
        return DigestHash{}(k.digest) ^ static_cast<std::size_t>(k.kind);
    }
};

} // namespace

std::vector<GraceSecret> grace_windows_for(const KeyStore& previous, const Config& next,
                                           Duration grace_period, TimePoint now) {
    // Nothing to keep alive: skip indexing the new file (100k keys: ~0.6 s).
    if (grace_period.count() <= 0 && previous.grace_secrets().empty())
        return {};
    std::unordered_set<SecretKey, SecretKeyHash> named;
    std::unordered_map<std::string, const KeyEntry*> next_by_id;
    named.reserve(next.api_keys.size() * 2);
    next_by_id.reserve(next.api_keys.size());
    for (const auto& entry : next.api_keys) {
        named.insert({entry.secret.kind, entry.secret.digest});
        for (const auto& p : entry.previous_keys)
            named.insert({p.secret.kind, p.secret.digest});
        next_by_id.emplace(entry.id, &entry);
    }
    std::vector<GraceSecret> windows;
    std::unordered_set<SecretKey, SecretKeyHash> granted;
    const auto grant = [&](const SecretDigest& secret, const KeyEntry& old_entry, TimePoint until) {
        const SecretKey k{secret.kind, secret.digest};
        if (named.count(k) != 0 || granted.count(k) != 0)
            return;
        const auto it = next_by_id.find(old_entry.id);
        if (it != next_by_id.end() && !it->second->enabled)
            return; // revoked at once
        KeyEntry entry = it != next_by_id.end() ? *it->second : old_entry;
        entry.secret = secret;
        entry.previous_keys.clear();
        granted.insert(k);
        windows.push_back({secret, std::move(entry), until});
    };
    if (grace_period.count() > 0) {
        for (const auto& key : previous.keys()) {
            if (!key.entry.enabled)
                continue; // a disabled key has nothing to keep alive
            grant(key.entry.secret, key.entry, now + grace_period);
        }
    }
    for (const auto& window : previous.grace_secrets()) {
        if (window.until > now)
            grant(window.secret, window.entry, window.until);
    }
    return windows;
}

} // namespace keygate
