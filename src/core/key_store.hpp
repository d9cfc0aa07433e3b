#pragma once
// The immutable snapshot that requests are decided against: keys indexed by digest.
#include "core/config.hpp"
#include "core/digest.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace keygate {

/// What a key may do after its role and tenant are applied, with the upstream header values
/// computed once. Immutable and shared by every key of a snapshot that resolves to the same
/// lists: a 100k-key file usually has a handful, so they take little memory and stay in
/// the CPU cache while requests for many different keys are decided.
struct KeyAccess {
    std::vector<std::string> permissions;      ///< in the role's order, narrowed by the key
    std::vector<std::string> allowed_datasets; ///< patterns as written; {"*"} when unrestricted
    std::vector<std::string> denied_datasets;  ///< patterns as written (key's, else tenant's)
    std::string permissions_header;            ///< "read,write"
    std::string datasets_header;               ///< "orders,cust*" or "*"
    std::string denied_header;                 ///< "" when there are none
};

/// An empty KeyAccess (no permission, no dataset), shared: what a ResolvedKey holds until
/// it is resolved.
const std::shared_ptr<const KeyAccess>& no_key_access();

/// A key entry resolved against its role and tenant.
struct ResolvedKey {
    KeyEntry entry;
    bool bypass_rls = false;
    std::shared_ptr<const KeyAccess> access = no_key_access(); ///< never null

    /// The permissions, in the role's order, narrowed by the key.
    const std::vector<std::string>& permissions() const { return access->permissions; }
    /// The allow patterns as written; {"*"} when unrestricted.
    const std::vector<std::string>& allowed_datasets() const { return access->allowed_datasets; }
    /// The deny patterns as written (the key's, then its tenant's).
    const std::vector<std::string>& denied_datasets() const { return access->denied_datasets; }
    /// "read,write": the X-Auth-Permissions value.
    const std::string& permissions_header() const { return access->permissions_header; }
    /// "orders,cust*" or "*": the X-Auth-Datasets value.
    const std::string& datasets_header() const { return access->datasets_header; }
    /// "" when there are none: the X-Auth-Datasets-Denied value.
    const std::string& denied_header() const { return access->denied_header; }

    /// True when the key holds `permission`.
    bool has_permission(std::string_view permission) const;
    /// True when `dataset` matches an allow pattern and no deny pattern.
    bool dataset_allowed(std::string_view dataset) const;
};

/// Hands out one shared KeyAccess per distinct content while a store is built.
class KeyAccessPool {
  public:
    /// The pooled access equal to `access` (stored on first sight).
    std::shared_ptr<const KeyAccess> intern(KeyAccess access);

  private:
    std::unordered_map<std::string, std::shared_ptr<const KeyAccess>> by_content_;
};

/// Which of a key's secrets a presented key matched.
enum class SecretSource {
    current,  ///< the entry's `key` / `key_hash`
    previous, ///< a declared `previous_keys` entry
    grace,    ///< an automatic grace window after a reload removed or replaced it
};

/// An automatic grace window: a secret that a reload removed or replaced, with the entry it
/// belonged to, honoured until `until`.
struct GraceSecret {
    SecretDigest secret;
    KeyEntry entry;
    TimePoint until;
};

/// The result of looking a presented key up.
struct SecretMatch {
    const ResolvedKey* key = nullptr; ///< valid as long as the store is alive
    SecretSource source = SecretSource::current;
    std::optional<TimePoint> valid_until; ///< a previous/grace secret's end
};

/// An immutable, fully validated key set. Built once, then shared read-only between
/// threads through std::shared_ptr<const KeyStore>; every method is thread-safe.
class KeyStore {
  public:
    /// Builds the store. `config` must have passed the loader's validation (roles exist).
    /// `pepper` is needed only when hmac-sha256 secrets are present.
    static std::shared_ptr<const KeyStore> build(Config config,
                                                 std::optional<std::string> pepper = {},
                                                 std::vector<GraceSecret> grace = {});

    /// Looks a presented key up by its digest; nullopt when unknown.
    std::optional<SecretMatch> find(std::string_view presented_key) const;

    /// The key with this id (current entries only), or nullptr.
    const ResolvedKey* find_by_id(std::string_view id) const;

    /// The configuration the store was built from: settings, roles, tenants and routes.
    /// Its `api_keys` is empty: the entries were moved into keys() (one copy per key).
    const Config& config() const { return config_; }
    /// The resolved keys, in file order (environment keys last).
    const std::vector<ResolvedKey>& keys() const { return keys_; }
    /// The automatic grace windows in force.
    const std::vector<GraceSecret>& grace_secrets() const { return grace_; }

  private:
    struct SecretRef {
        std::uint32_t index = 0; ///< into keys_ or grace_keys_
        SecretSource source = SecretSource::current;
        std::optional<TimePoint> valid_until;
    };
    using Index = std::unordered_map<Digest, SecretRef, DigestHash>;

    std::optional<SecretMatch> to_match(const SecretRef& ref) const;

    Config config_;
    std::optional<std::string> pepper_;
    std::vector<ResolvedKey> keys_;
    std::vector<ResolvedKey> grace_keys_;
    std::vector<GraceSecret> grace_;
    Index sha256_index_;
    Index hmac_index_;
    std::unordered_map<std::string, std::uint32_t> id_index_;
};

/// Resolves one entry against the config's roles and tenants. With a pool, keys with the
/// same lists share one KeyAccess.
ResolvedKey resolve_key(const Config& config, KeyEntry entry, KeyAccessPool* pool = nullptr);

} // namespace keygate
