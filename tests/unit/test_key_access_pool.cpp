// KeyAccessPool::intern: keys whose lists are equal share one KeyAccess; lists that only look
// alike (same joined header, same characters, same items in another list) stay apart.
#include "core/config_loader.hpp"
#include "core/key_store.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace keygate;

namespace {

/// Builds a store from the text of a key file (it must load without errors).
std::shared_ptr<const KeyStore> store_from(const std::string& yaml) {
    LoadOptions options;
    options.now = *parse_timestamp("2025-03-01T12:00:00Z");
    LoadResult loaded = load_config_text(yaml, options);
    for (const auto& d : loaded.diagnostics.items) {
        if (d.severity == Severity::error)
            FAIL_CHECK(format_diagnostic("keys.yaml", d));
    }
    REQUIRE(loaded.config);
    return KeyStore::build(std::move(*loaded.config));
}

/// The access of the key with this id (which must exist).
const KeyAccess* access_of(const KeyStore& store, const char* id) {
    const ResolvedKey* key = store.find_by_id(id);
    INFO("key id " << id);
    REQUIRE(key != nullptr);
    REQUIRE(key->access != nullptr);
    return key->access.get();
}

/// One key entry of a key file: `extra` holds further fields, each "    name: value\n".
std::string key(const std::string& id, const std::string& role, const std::string& tenant,
                const std::string& extra = "") {
    std::string text = "  - id: " + id + "\n    key_hash: \"" +
                       format_secret({HashKind::sha256, sha256("pool-test-secret-" + id)}) +
                       "\"\n    role: " + role + "\n";
    if (!tenant.empty())
        text += "    tenant: " + tenant + "\n";
    return text + extra;
}

const char* const k_policy = R"(roles:
  reader: {permissions: [read], bypass_rls: false}
  reader_all: {permissions: [read], bypass_rls: true}
tenants:
  open: {}
  acme:
    allowed_datasets: [orders, customers]
    denied_datasets: [orders_raw]
  acme_twin:
    allowed_datasets: [orders, customers]
    denied_datasets: [orders_raw]
)";

KeyAccess access(std::vector<std::string> permissions, std::vector<std::string> allowed,
                 std::vector<std::string> denied) {
    KeyAccess a;
    a.permissions = std::move(permissions);
    a.allowed_datasets = std::move(allowed);
    a.denied_datasets = std::move(denied);
    return a;
}

} // namespace

TEST_CASE("key access pool: keys with the same lists share one KeyAccess", "[key_access_pool]") {
    const auto store = store_from(
        std::string(k_policy) + "api_keys:\n" +
        // Lists from the tenant.
        key("acme-1", "analyst", "acme") + key("acme-2", "analyst", "acme") +
        // The same lists written on the key itself, or coming from an identical tenant.
        key("acme-explicit", "analyst", "acme",
            "    allowed_datasets: [orders, customers]\n    denied_datasets: [orders_raw]\n") +
        key("twin", "analyst", "acme_twin") +
        // A key narrowing its role to what another role grants.
        key("narrowed-1", "analyst", "acme", "    permissions: [read]\n") +
        key("narrowed-2", "viewer", "acme") +
        // Same permissions and lists, only bypass_rls differs (it is kept on the key).
        key("rls-applied", "reader", "open") + key("rls-bypassed", "reader_all", ""));

    const KeyAccess* acme = access_of(*store, "acme-1");
    CHECK(access_of(*store, "acme-2") == acme);
    CHECK(access_of(*store, "acme-explicit") == acme);
    CHECK(access_of(*store, "twin") == acme);
    CHECK(acme->permissions == std::vector<std::string>{"read", "write"});
    CHECK(acme->allowed_datasets == std::vector<std::string>{"orders", "customers"});
    CHECK(acme->denied_datasets == std::vector<std::string>{"orders_raw"});
    CHECK(acme->datasets_header == "orders,customers");

    CHECK(access_of(*store, "narrowed-1") == access_of(*store, "narrowed-2"));
    CHECK(access_of(*store, "narrowed-1") != acme);

    // bypass_rls is not part of KeyAccess: both keys share the lists and keep their own flag.
    CHECK(access_of(*store, "rls-applied") == access_of(*store, "rls-bypassed"));
    CHECK_FALSE(store->find_by_id("rls-applied")->bypass_rls);
    CHECK(store->find_by_id("rls-bypassed")->bypass_rls);

    // Eight keys above, three distinct contents.
    std::vector<const KeyAccess*> distinct;
    for (const auto& k : store->keys()) {
        if (std::find(distinct.begin(), distinct.end(), k.access.get()) == distinct.end())
            distinct.push_back(k.access.get());
    }
    CHECK(store->keys().size() == 8);
    CHECK(distinct.size() == 3);
}

TEST_CASE("key access pool: lists that only look alike stay apart", "[key_access_pool]") {
    const std::string datasets = "    allowed_datasets: ";
    const auto store = store_from(
        std::string(k_policy) + "api_keys:\n" +
        key("a-b", "analyst", "open", datasets + "[a, b]\n") +
        key("a-b-again", "analyst", "open", datasets + "[a, b]\n") +
        key("ab", "analyst", "open", datasets + "[ab]\n") +
        key("b-a", "analyst", "open", datasets + "[b, a]\n") +
        // As many items and the same characters, split at another place.
        key("ab-c", "analyst", "open", datasets + "[ab, c]\n") +
        key("a-bc", "analyst", "open", datasets + "[a, bc]\n") +
        // Only the denied list differs.
        key("a-b-deny-c", "analyst", "open", datasets + "[a, b]\n    denied_datasets: [c]\n") +
        // The same items, moved from one list to the other.
        key("a-deny-b", "analyst", "open", datasets + "[a]\n    denied_datasets: [b]\n") +
        // Only the permissions differ.
        key("a-b-read", "viewer", "open", datasets + "[a, b]\n"));

    const KeyAccess* a_b = access_of(*store, "a-b");
    CHECK(access_of(*store, "a-b-again") == a_b);
    const char* const apart[] = {"ab", "b-a", "ab-c", "a-bc", "a-b-deny-c", "a-deny-b", "a-b-read"};
    for (const char* id : apart) {
        INFO("key " << id << " against a-b");
        CHECK(access_of(*store, id) != a_b);
    }
    for (const char* one : apart) {
        for (const char* other : apart) {
            if (one == other)
                continue;
            INFO("key " << one << " against " << other);
            CHECK(access_of(*store, one) != access_of(*store, other));
        }
    }

    CHECK_FALSE(store->find_by_id("ab")->dataset_allowed("a"));
    CHECK(store->find_by_id("ab-c")->dataset_allowed("ab"));
    CHECK_FALSE(store->find_by_id("a-bc")->dataset_allowed("ab"));
    CHECK_FALSE(store->find_by_id("a-deny-b")->dataset_allowed("b"));
    CHECK_FALSE(store->find_by_id("a-b-read")->has_permission("write"));
    CHECK(store->find_by_id("a-b")->has_permission("write"));
}

// The loader refuses commas in dataset and permission names, so a file cannot produce
// ["a,b"] next to ["a", "b"] (the same "a,b" header): the pool itself must still keep them apart.
TEST_CASE("key access pool: intern tells lookalike lists apart", "[key_access_pool]") {
    KeyAccessPool pool;
    const auto base = pool.intern(access({"read", "write"}, {"a", "b"}, {}));
    CHECK(pool.intern(access({"read", "write"}, {"a", "b"}, {})) == base);

    struct Case {
        const char* name;
        KeyAccess access;
    };
    const Case cases[] = {
        {"one permission holding a comma", access({"read,write"}, {"a", "b"}, {})},
        {"one dataset holding a comma", access({"read", "write"}, {"a,b"}, {})},
        {"datasets run together", access({"read", "write"}, {"ab"}, {})},
        {"as many datasets split at another place", access({"read", "write"}, {"ab", ""}, {})},
        {"as many permissions split at another place", access({"rea", "dwrite"}, {"a", "b"}, {})},
        {"datasets in another order", access({"read", "write"}, {"b", "a"}, {})},
        {"a dataset moved to the denied list", access({"read", "write"}, {"a"}, {"b"})},
        {"a permission moved to the allowed list", access({"read"}, {"write", "a", "b"}, {})},
        {"an extra denied dataset", access({"read", "write"}, {"a", "b"}, {"c"})},
        {"an empty denied dataset", access({"read", "write"}, {"a", "b"}, {""})},
        {"fewer permissions", access({"read"}, {"a", "b"}, {})},
    };
    std::vector<std::shared_ptr<const KeyAccess>> seen{base};
    for (const auto& c : cases) {
        INFO(c.name);
        const auto interned = pool.intern(c.access);
        CHECK(interned->permissions == c.access.permissions);
        CHECK(interned->allowed_datasets == c.access.allowed_datasets);
        CHECK(interned->denied_datasets == c.access.denied_datasets);
        for (const auto& earlier : seen)
            CHECK(interned != earlier);
        seen.push_back(interned);
        // And each one is itself pooled.
        CHECK(pool.intern(c.access) == interned);
    }
}
