// The `api_keys:` section of the key file: every entry, its secrets, and the checks across
// entries (duplicate ids, a secret used twice).
#include "core/config_key_strength.hpp"
#include "core/config_sections.hpp"
#include "core/key_expiry.hpp"

#include <algorithm>
#include <unordered_map>

namespace keygate::loader {
namespace {

bool is_key_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    });
}

/// Spaces and control characters do not survive an HTTP header (proxies trim or reject
/// them), so a key holding one could never be presented.
bool is_presentable(std::string_view key) {
    return std::none_of(key.begin(), key.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

bool before(SourcePlace a, SourcePlace b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

struct SecretHash {
    std::size_t operator()(const SecretDigest& s) const noexcept {
        return DigestHash{}(s.digest) ^ static_cast<std::size_t>(s.kind);
    }
};

/// Where a secret was first seen, to name it when it comes again.
struct SecretOwner {
    std::string key_id; ///< empty when the owning entry has no valid id
    int line = 0;
    bool previous = false;
};

class KeyListReader {
  public:
    KeyListReader(const Reader& r, const std::vector<Role>& roles, const LoadOptions& options)
        : r_(r), roles_(roles), options_(options) {
        for (const Role& role : roles)
            role_names_.push_back(role.name);
    }

    std::vector<KeyEntry> read(NodeId list) {
        std::vector<KeyEntry> keys;
        keys.reserve(r_.doc().size(list));
        ids_.reserve(r_.doc().size(list));
        secrets_.reserve(r_.doc().size(list));
        r_.doc().for_each_item(list, [&](NodeId item) { read_item(item, keys); });
        return keys;
    }

    /// Makes room for about `count` entries in the indexes of the checks across entries.
    void reserve(std::size_t count) {
        ids_.reserve(count);
        secrets_.reserve(count * 2);
    }

    /// One item of the list, appended to `keys` when it is a map.
    void read_item(NodeId item, std::vector<KeyEntry>& keys) {
        if (r_.doc().kind(item) != NodeKind::map) {
            r_.wrong_type(item, "each item of 'api_keys'", "a map");
            return;
        }
        keys.push_back(read_entry(item));
    }

  private:
    /// The nodes of an entry's fields (k_no_node when absent).
    struct EntryNodes {
        NodeId key = yaml::k_no_node;
        NodeId key_hash = yaml::k_no_node;
        NodeId id = yaml::k_no_node;
        NodeId role = yaml::k_no_node;
        NodeId tenant = yaml::k_no_node;
        NodeId permissions = yaml::k_no_node;
        NodeId not_before = yaml::k_no_node;
        NodeId expires_at = yaml::k_no_node;
        NodeId previous_keys = yaml::k_no_node;
    };

    KeyEntry read_entry(NodeId entry) {
        KeyEntry e;
        e.line = r_.place(entry).line;
        EntryNodes n;
        r_.fields(entry,
                  {"key", "key_hash", "id", "tenant", "role", "description", "allowed_datasets",
                   "denied_datasets", "permissions", "enabled", "not_before", "expires_at",
                   "rate_limit", "daily_limit", "ip_allowlist", "previous_keys"},
                  "an api key",
                  [&](std::string_view name, NodeId, NodeId v) { read_field(name, v, e, n); });

        const std::optional<SecretDigest> secret = read_secret(entry, n, e);
        if (n.id != yaml::k_no_node) {
            if (auto id = r_.string(n.id, "id")) {
                if (is_key_id(*id)) {
                    e.id = std::move(*id);
                } else {
                    // Not quoted back: a secret pasted into the wrong field must not be echoed.
                    r_.out().error(r_.place(n.id), "'id' must be 1 to 64 characters of A-Z, a-z, "
                                                   "0-9, '.', '_', ':' and '-'");
                }
            }
        } else if (secret) {
            e.id = "k-" + to_hex(secret->digest).substr(0, 12);
        }
        bool secret_unique = true;
        if (secret) {
            e.secret = *secret;
            const NodeId at = n.key != yaml::k_no_node ? n.key : n.key_hash;
            secret_unique = claim_secret(*secret, r_.place(at), e.id, e.line, false);
        }
        // A default id comes from the secret: when the secret is a duplicate, so is the id,
        // and one message says it.
        if (!e.id.empty() && (secret_unique || n.id != yaml::k_no_node)) {
            claim_id(e.id, n.id != yaml::k_no_node ? r_.place(n.id) : r_.place(entry));
        }
        check_role(entry, n, e);
        check_times(n, e);
        read_previous_keys(n.previous_keys, e);
        return e;
    }

    void read_field(std::string_view name, NodeId v, KeyEntry& e, EntryNodes& n) {
        if (name == "key")
            n.key = v;
        else if (name == "key_hash")
            n.key_hash = v;
        else if (name == "id")
            n.id = v;
        else if (name == "role")
            n.role = v;
        else if (name == "tenant")
            n.tenant = v;
        else if (name == "permissions")
            n.permissions = v;
        else if (name == "not_before")
            n.not_before = v;
        else if (name == "expires_at")
            n.expires_at = v;
        else if (name == "previous_keys")
            n.previous_keys = v;
        else if (name == "description") {
            if (!r_.is_null(v)) {
                if (auto text = r_.string(v, name))
                    e.description = std::move(*text);
            }
        } else if (name == "allowed_datasets") {
            e.allowed_datasets = r_.strings(v, name);
        } else if (name == "denied_datasets") {
            if (auto list = r_.strings(v, name))
                e.denied_datasets = std::move(*list);
        } else if (name == "enabled") {
            if (const auto b = r_.boolean(v, name))
                e.enabled = *b;
        } else if (name == "rate_limit") {
            e.rate_limit = r_.integer(v, name, 1);
        } else if (name == "daily_limit") {
            e.daily_limit = r_.integer(v, name, 1);
        } else if (name == "ip_allowlist") {
            if (auto list = r_.cidrs(v, name))
                e.ip_allowlist = std::move(*list);
        }
    }

    /// The entry's secret from `key` (hashed here; the plaintext is not kept) or `key_hash`.
    std::optional<SecretDigest> read_secret(NodeId entry, const EntryNodes& n, KeyEntry& e) {
        const bool has_key = n.key != yaml::k_no_node;
        const bool has_hash = n.key_hash != yaml::k_no_node;
        if (has_key && has_hash) {
            const NodeId later = before(r_.place(n.key), r_.place(n.key_hash)) ? n.key_hash : n.key;
            r_.out().error(r_.place(later), "'key' and 'key_hash' are both set; keep one");
            return std::nullopt;
        }
        if (has_hash)
            return read_hash(n.key_hash, "key_hash");
        if (!has_key) {
            r_.out().error(r_.place(entry), "missing 'key' or 'key_hash'");
            return std::nullopt;
        }
        const auto key = r_.string(n.key, "key");
        if (!key)
            return std::nullopt;
        if (!is_presentable(*key)) {
            r_.out().error(r_.place(n.key), "'key' must not contain spaces or control characters");
            return std::nullopt;
        }
        r_.out().warning(
            r_.place(n.key),
            "plaintext 'key': store its hash in 'key_hash' instead (see 'keygate hash')");
        if (const auto reason = weak_key_reason(*key)) {
            r_.out().warning(r_.place(n.key), "weak plaintext key: " + *reason);
        }
        e.secret_was_plaintext = true;
        return SecretDigest{HashKind::sha256, sha256(*key)};
    }

    std::optional<SecretDigest> read_hash(NodeId node, std::string_view field) {
        const auto text = r_.string(node, field);
        if (!text)
            return std::nullopt;
        auto secret = parse_secret(*text);
        if (!secret) {
            r_.out().error(r_.place(node),
                           cat({"bad hash for '", field, "': ", secret.error().message}));
            return std::nullopt;
        }
        if (secret->kind == HashKind::hmac_sha256 && !options_.hash_pepper) {
            r_.out().error(r_.place(node),
                           "'hmac-sha256:' hash needs KEYGATE_HASH_PEPPER, which is not set");
        }
        return *secret;
    }

    /// Records a secret; false (and an error at `at`) when it was already seen.
    bool claim_secret(const SecretDigest& secret, SourcePlace at, const std::string& key_id,
                      int line, bool previous) {
        const auto [it, inserted] =
            secrets_.try_emplace(secret, SecretOwner{key_id, line, previous});
        if (inserted)
            return true;
        const SecretOwner& first = it->second;
        const std::string first_line = std::to_string(first.line);
        std::string owner = first.key_id.empty()
                                ? "the key at line " + first_line
                                : "key '" + first.key_id + "' (line " + first_line + ")";
        if (first.previous)
            owner = "a previous key of " + owner;
        r_.out().error(at, "same secret as " + owner);
        return false;
    }

    void claim_id(const std::string& id, SourcePlace at) {
        const auto [it, inserted] = ids_.try_emplace(id, at.line);
        if (!inserted) {
            r_.out().error(at, "duplicate key id '" + id + "' (first at line " +
                                   std::to_string(it->second) + ")");
        }
    }

    void check_role(NodeId entry, const EntryNodes& n, KeyEntry& e) {
        const Role* role = nullptr;
        if (n.role == yaml::k_no_node) {
            r_.out().error(r_.place(entry), "missing 'role'");
        } else if (auto name = r_.name(n.role, "role")) {
            const auto it = std::find_if(roles_.begin(), roles_.end(),
                                         [&](const Role& x) { return x.name == *name; });
            if (it == roles_.end()) {
                std::string message = "unknown role " + quoted(*name);
                if (const auto hint = closest_name(*name, role_names_)) {
                    message += "; did you mean '" + *hint + "'?";
                }
                r_.out().error(r_.place(n.role), std::move(message));
            } else {
                role = &*it;
            }
            e.role = std::move(*name);
        }

        if (n.tenant != yaml::k_no_node) {
            if (auto tenant = r_.name(n.tenant, "tenant"))
                e.tenant = std::move(*tenant);
        } else if (role != nullptr && !role->bypass_rls) {
            r_.out().error(r_.place(entry),
                           "missing 'tenant' (role '" + role->name + "' does not bypass rls)");
        }

        if (n.permissions == yaml::k_no_node)
            return;
        e.permissions = r_.strings(n.permissions, "permissions");
        if (!e.permissions || role == nullptr)
            return;
        r_.doc().for_each_item(n.permissions, [&](NodeId item) {
            const std::string_view p = r_.doc().text(item);
            if (std::find(role->permissions.begin(), role->permissions.end(), p) ==
                role->permissions.end()) {
                r_.out().warning(r_.place(item), "permission " + quoted(p) +
                                                     " is not granted by role '" + role->name +
                                                     "' and is ignored");
            }
        });
    }

    void check_times(const EntryNodes& n, KeyEntry& e) {
        if (n.not_before != yaml::k_no_node)
            e.not_before = r_.timestamp(n.not_before, "not_before");
        if (n.expires_at != yaml::k_no_node)
            e.expires_at = r_.timestamp(n.expires_at, "expires_at");
        if (e.expires_at && *e.expires_at <= options_.now) {
            r_.out().warning(r_.place(n.expires_at),
                             "key already expired at " + format_timestamp(*e.expires_at));
        } else if (options_.warn_expiring_within &&
                   expires_within(e, options_.now, *options_.warn_expiring_within)) {
            r_.out().warning(r_.place(n.expires_at),
                             "key expires at " + format_timestamp(*e.expires_at) + ", within " +
                                 format_duration(*options_.warn_expiring_within));
        }
        if (e.not_before && e.expires_at && *e.not_before >= *e.expires_at) {
            r_.out().warning(r_.place(n.not_before),
                             "'not_before' is not before 'expires_at': the key can never be used");
        }
    }

    void read_previous_keys(NodeId list, KeyEntry& e) {
        if (list == yaml::k_no_node || !r_.expect_list(list, "previous_keys"))
            return;
        e.previous_keys.reserve(r_.doc().size(list));
        r_.doc().for_each_item(list, [&](NodeId item) {
            if (r_.doc().kind(item) != NodeKind::map) {
                r_.wrong_type(item, "each item of 'previous_keys'", "a map");
                return;
            }
            NodeId hash_node = yaml::k_no_node;
            NodeId expires_node = yaml::k_no_node;
            r_.fields(item, {"key_hash", "expires_at"}, "a previous key",
                      [&](std::string_view name, NodeId, NodeId v) {
                          (name == "key_hash" ? hash_node : expires_node) = v;
                      });
            std::optional<SecretDigest> secret;
            std::optional<TimePoint> expires_at;
            if (hash_node == yaml::k_no_node) {
                r_.out().error(r_.place(item), "missing 'key_hash' in a previous key");
            } else {
                secret = read_hash(hash_node, "key_hash");
            }
            if (expires_node == yaml::k_no_node) {
                r_.out().error(r_.place(item), "missing 'expires_at' in a previous key");
            } else {
                expires_at = r_.timestamp(expires_node, "expires_at");
            }
            if (secret) {
                claim_secret(*secret, r_.place(hash_node), e.id, r_.place(item).line, true);
            }
            if (expires_at && *expires_at <= options_.now) {
                r_.out().warning(r_.place(expires_node), "previous key already expired at " +
                                                             format_timestamp(*expires_at) +
                                                             "; it can be removed");
            }
            if (secret && expires_at)
                e.previous_keys.push_back({*secret, *expires_at});
        });
    }

    const Reader& r_;
    const std::vector<Role>& roles_;
    const LoadOptions& options_;
    std::vector<std::string> role_names_;
    std::unordered_map<std::string, int> ids_;
    std::unordered_map<SecretDigest, SecretOwner, SecretHash> secrets_;
};

} // namespace

class ApiKeyStream::Items : public KeyListReader {
  public:
    using KeyListReader::KeyListReader;
};

ApiKeyStream::ApiKeyStream(DiagnosticCollector& out, const LoadOptions& options,
                           std::size_t expected_keys)
    : out_(out), options_(options), expected_keys_(expected_keys) {}

ApiKeyStream::~ApiKeyStream() = default;

bool ApiKeyStream::begin(const yaml::Document& doc, NodeId top, NodeId sequence) {
    // The roles as read_config will read them, if no `roles:` follows; their diagnostics
    // are read_config's to give, so they go to a collector that is dropped.
    roles_ = builtin_roles();
    DiagnosticCollector ignored;
    const Reader scratch(doc, ignored);
    doc.for_each_entry(top, [&](NodeId key, NodeId value) {
        if (doc.text(key) == "roles" && doc.kind(value) == NodeKind::map)
            read_roles(scratch, value, roles_);
    });
    start_ = out_.mark();
    sequence_ = sequence;
    reader_ = std::make_unique<Reader>(doc, out_);
    items_ = std::make_unique<Items>(*reader_, roles_, options_);
    items_->reserve(expected_keys_);
    entries_.reserve(expected_keys_);
    return true;
}

void ApiKeyStream::item(const yaml::Document&, NodeId item) {
    items_->read_item(item, entries_);
}

void ApiKeyStream::reset() {
    if (sequence_ == yaml::k_no_node)
        return;
    out_.rollback(start_);
    sequence_ = yaml::k_no_node;
    items_.reset();
    reader_.reset();
    entries_.clear();
    entries_.shrink_to_fit();
}

bool ApiKeyStream::roles_match(const std::vector<Role>& roles) const {
    return std::equal(roles.begin(), roles.end(), roles_.begin(), roles_.end(),
                      [](const Role& a, const Role& b) {
                          return a.name == b.name && a.permissions == b.permissions &&
                                 a.bypass_rls == b.bypass_rls;
                      });
}

std::vector<KeyEntry> read_api_keys(const Reader& r, NodeId list, const std::vector<Role>& roles,
                                    const LoadOptions& options) {
    return KeyListReader(r, roles, options).read(list);
}

} // namespace keygate::loader
