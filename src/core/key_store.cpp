// Building the immutable key snapshot and looking presented keys up by digest.
#include "core/key_store.hpp"

#include <algorithm>

namespace keygate {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty())
            out += ',';
        out += item;
    }
    return out;
}

void append_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
    for (const auto& item : from) {
        if (std::find(into.begin(), into.end(), item) == into.end())
            into.push_back(item);
    }
}

/// Appends `items` to `out` unambiguously (each item length-prefixed).
void append_list(std::string& out, const std::vector<std::string>& items) {
    out += std::to_string(items.size());
    out += '|';
    for (const auto& item : items) {
        out += std::to_string(item.size());
        out += ':';
        out += item;
    }
}

} // namespace

const std::shared_ptr<const KeyAccess>& no_key_access() {
    static const std::shared_ptr<const KeyAccess> none = std::make_shared<const KeyAccess>();
    return none;
}

std::shared_ptr<const KeyAccess> KeyAccessPool::intern(KeyAccess access) {
    std::string content;
    append_list(content, access.permissions);
    append_list(content, access.allowed_datasets);
    append_list(content, access.denied_datasets);
    auto& slot = by_content_[std::move(content)];
    if (!slot)
        slot = std::make_shared<const KeyAccess>(std::move(access));
    return slot;
}

bool ResolvedKey::has_permission(std::string_view permission) const {
    const auto& held = access->permissions;
    return std::find(held.begin(), held.end(), permission) != held.end();
}

bool ResolvedKey::dataset_allowed(std::string_view dataset) const {
    for (const auto& pattern : access->denied_datasets) {
        if (glob_match(pattern, dataset))
            return false;
    }
    for (const auto& pattern : access->allowed_datasets) {
        if (glob_match(pattern, dataset))
            return true;
    }
    return false;
}

ResolvedKey resolve_key(const Config& config, KeyEntry entry, KeyAccessPool* pool) {
    ResolvedKey key;
    KeyAccess access;
    if (const Role* role = config.find_role(entry.role)) {
        key.bypass_rls = role->bypass_rls;
        for (const auto& permission : role->permissions) {
            // `permissions:` on a key narrows its role's, never widens: keep the role's order.
            const bool kept = !entry.permissions ||
                              std::find(entry.permissions->begin(), entry.permissions->end(),
                                        permission) != entry.permissions->end();
            if (kept)
                access.permissions.push_back(permission);
        }
    }
    const Tenant* tenant = entry.tenant ? config.find_tenant(*entry.tenant) : nullptr;
    if (entry.allowed_datasets) {
        access.allowed_datasets = *entry.allowed_datasets;
    } else if (tenant != nullptr && tenant->allowed_datasets) {
        access.allowed_datasets = *tenant->allowed_datasets;
    } else {
        access.allowed_datasets = {"*"};
    }
    // Deny wins, and a tenant's deny list cannot be lifted by one of its keys.
    access.denied_datasets = entry.denied_datasets;
    if (tenant != nullptr)
        append_unique(access.denied_datasets, tenant->denied_datasets);

    access.permissions_header = join(access.permissions);
    access.datasets_header = join(access.allowed_datasets);
    access.denied_header = join(access.denied_datasets);
    key.access = pool != nullptr ? pool->intern(std::move(access))
                                 : std::make_shared<const KeyAccess>(std::move(access));
    key.entry = std::move(entry);
    return key;
}

std::shared_ptr<const KeyStore> KeyStore::build(Config config, std::optional<std::string> pepper,
                                                std::vector<GraceSecret> grace) {
    auto store = std::shared_ptr<KeyStore>(new KeyStore());
    store->pepper_ = std::move(pepper);
    store->keys_.reserve(config.api_keys.size());
    KeyAccessPool pool;
    for (auto& entry : config.api_keys)
        store->keys_.push_back(resolve_key(config, std::move(entry), &pool));
    // The entries now live in keys_ alone: one copy of each key, not two.
    config.api_keys.clear();
    config.api_keys.shrink_to_fit();

    std::size_t secrets = 0;
    for (const auto& key : store->keys_)
        secrets += 1 + key.entry.previous_keys.size();
    store->sha256_index_.reserve(secrets + grace.size());
    store->id_index_.reserve(store->keys_.size());
    const auto index_for = [&store](HashKind kind) -> Index& {
        return kind == HashKind::sha256 ? store->sha256_index_ : store->hmac_index_;
    };
    for (std::uint32_t i = 0; i < store->keys_.size(); ++i) {
        const KeyEntry& entry = store->keys_[i].entry;
        index_for(entry.secret.kind)
            .try_emplace(entry.secret.digest, SecretRef{i, SecretSource::current, {}});
        for (const auto& previous : entry.previous_keys) {
            index_for(previous.secret.kind)
                .try_emplace(previous.secret.digest,
                             SecretRef{i, SecretSource::previous, previous.expires_at});
        }
        store->id_index_.try_emplace(entry.id, i);
    }
    // A grace window never shadows a secret the new file names itself.
    for (auto& window : grace) {
        const auto index = static_cast<std::uint32_t>(store->grace_keys_.size());
        const auto [it, inserted] =
            index_for(window.secret.kind)
                .try_emplace(window.secret.digest,
                             SecretRef{index, SecretSource::grace, window.until});
        (void)it;
        if (!inserted)
            continue;
        store->grace_keys_.push_back(resolve_key(config, window.entry, &pool));
        store->grace_.push_back(std::move(window));
    }
    store->config_ = std::move(config);
    return store;
}

std::optional<SecretMatch> KeyStore::to_match(const SecretRef& ref) const {
    const auto& pool = ref.source == SecretSource::grace ? grace_keys_ : keys_;
    return SecretMatch{&pool[ref.index], ref.source, ref.valid_until};
}

std::optional<SecretMatch> KeyStore::find(std::string_view presented_key) const {
    if (!sha256_index_.empty()) {
        const auto it = sha256_index_.find(sha256(presented_key));
        if (it != sha256_index_.end())
            return to_match(it->second);
    }
    if (!hmac_index_.empty() && pepper_) {
        const auto it = hmac_index_.find(hmac_sha256(*pepper_, presented_key));
        if (it != hmac_index_.end())
            return to_match(it->second);
    }
    return std::nullopt;
}

const ResolvedKey* KeyStore::find_by_id(std::string_view id) const {
    const auto it = id_index_.find(std::string(id));
    return it == id_index_.end() ? nullptr : &keys_[it->second];
}

} // namespace keygate
