#include "core/decide.hpp"
#include "core/key_format.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

TimePoint at(const char* text) {
    return *parse_timestamp(text);
}

KeyEntry key_entry(const char* id, const char* secret, const char* role,
                   std::optional<std::string> tenant) {
    KeyEntry e;
    e.id = id;
    e.secret = {HashKind::sha256, sha256(secret)};
    e.role = role;
    e.tenant = std::move(tenant);
    return e;
}

/// A key set that exercises every row of CONTRACT §5.
Config test_config() {
    Config config;
    config.roles = builtin_roles();
    config.roles.push_back({"auditor", {"read"}, false});
    config.tenants.push_back({"acme", std::vector<std::string>{"orders", "customers"}, {}, ""});
    config.tenants.push_back({"globex", std::nullopt, {"secret*"}, ""});

    config.api_keys.push_back(key_entry("analyst", "test-analyst-key-0001", "analyst", "acme"));
    auto viewer = key_entry("viewer", "test-viewer-key-0001", "viewer", "acme");
    viewer.allowed_datasets = std::vector<std::string>{"orders*"};
    viewer.denied_datasets = {"orders_raw"};
    config.api_keys.push_back(viewer);
    auto disabled = key_entry("disabled", "test-disabled-key-0001", "analyst", "acme");
    disabled.enabled = false;
    config.api_keys.push_back(disabled);
    auto expired = key_entry("expired", "test-expired-key-0001", "analyst", "acme");
    expired.expires_at = at("2024-01-01T00:00:00Z");
    config.api_keys.push_back(expired);
    auto pending = key_entry("pending", "test-pending-key-0001", "analyst", "acme");
    pending.not_before = at("2030-01-01");
    config.api_keys.push_back(pending);
    auto office = key_entry("office", "test-office-key-0001", "analyst", "acme");
    office.ip_allowlist = {*parse_cidr("10.0.0.0/8"), *parse_cidr("192.168.1.100")};
    config.api_keys.push_back(office);
    auto rotated = key_entry("rotated", "test-rotated-new-0001", "analyst", "acme");
    rotated.previous_keys.push_back(
        {{HashKind::sha256, sha256("test-rotated-old-0001")}, at("2025-02-01T00:00:00Z")});
    config.api_keys.push_back(rotated);
    config.api_keys.push_back(key_entry("admin", "test-admin-key-0001", "admin", std::nullopt));
    auto narrowed = key_entry("narrowed", "test-narrowed-key-0001", "analyst", "globex");
    narrowed.permissions = std::vector<std::string>{"read"};
    config.api_keys.push_back(narrowed);
    config.routes.push_back({*parse_route_pattern("/reports/{dataset}"), {"GET"}, "read"});
    config.routes.push_back({*parse_route_pattern("/audit/**"), {}, "audit"});
    return config;
}

const std::shared_ptr<const KeyStore>& store() {
    static const auto s = KeyStore::build(test_config());
    return s;
}

AuthRequest request(std::optional<std::string> key, const char* method = "GET",
                    const char* uri = "/", const char* ip = "127.0.0.1") {
    AuthRequest r;
    r.key = std::move(key);
    r.method = method;
    apply_original_uri(r, read_original_uri(uri));
    r.client_ip = *parse_ip(ip);
    return r;
}

const TimePoint k_now = *parse_timestamp("2025-03-01T12:00:00Z");

} // namespace

TEST_CASE("decide: every row of the contract's table", "[decide]") {
    struct Row {
        const char* name;
        AuthRequest req;
        DecisionCode code;
        const char* detail;
    };
    auto with_dataset_header =
        request("test-viewer-key-0001", "GET", "/v1/datasets/customers/rows");
    with_dataset_header.header_dataset = "orders";
    auto conflicting = request(std::nullopt);
    conflicting.conflicting_keys = true;
    const std::vector<Row> rows = {
        {"allowed", request("test-analyst-key-0001"), DecisionCode::ok, ""},
        {"1 no key", request(std::nullopt), DecisionCode::missing_key, "API key required"},
        {"2 unknown key", request("test-unknown-key-0001"), DecisionCode::invalid_key,
         "Invalid API key"},
        {"2 two keys", conflicting, DecisionCode::invalid_key, "Invalid API key"},
        {"2 malformed key", request(std::string("bad\nkey")), DecisionCode::invalid_key,
         "Invalid API key"},
        {"2 huge key", request(std::string(10'000, 'k')), DecisionCode::invalid_key,
         "Invalid API key"},
        {"3 disabled", request("test-disabled-key-0001"), DecisionCode::key_disabled,
         "API key disabled"},
        {"4 expired", request("test-expired-key-0001"), DecisionCode::key_expired,
         "API key expired"},
        {"4 not yet valid", request("test-pending-key-0001"), DecisionCode::key_expired,
         "API key expired"},
        {"4 previous secret after its expiry", request("test-rotated-old-0001"),
         DecisionCode::key_expired, "API key expired"},
        {"5 ip not allowed", request("test-office-key-0001", "GET", "/", "172.16.0.1"),
         DecisionCode::ip_not_allowed, "IP not allowed"},
        {"5 ip allowed by /8", request("test-office-key-0001", "GET", "/", "10.9.8.7"),
         DecisionCode::ok, ""},
        {"5 ip allowed exactly", request("test-office-key-0001", "GET", "/", "192.168.1.100"),
         DecisionCode::ok, ""},
        {"6 admin route", request("test-analyst-key-0001", "GET", "/admin/keys"),
         DecisionCode::insufficient_permission, "Insufficient permission: admin"},
        {"6 write by viewer", request("test-viewer-key-0001", "POST", "/v1/datasets/orders/rows"),
         DecisionCode::insufficient_permission, "Insufficient permission: write"},
        {"6 narrowed permissions", request("test-narrowed-key-0001", "DELETE", "/v1/things"),
         DecisionCode::insufficient_permission, "Insufficient permission: write"},
        {"6 custom permission route", request("test-admin-key-0001", "GET", "/audit/x"),
         DecisionCode::insufficient_permission, "Insufficient permission: audit"},
        {"7 path dataset", request("test-analyst-key-0001", "GET", "/v1/datasets/payroll/rows"),
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'payroll'"},
        {"7 query dataset", request("test-analyst-key-0001", "POST", "/v1/query?dataset=payroll"),
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'payroll'"},
        {"7 header cannot hide the path dataset", with_dataset_header,
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'customers'"},
        {"7 deny wins over allow glob",
         request("test-viewer-key-0001", "GET", "/v1/datasets/orders_raw/rows"),
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'orders_raw'"},
        {"7 tenant deny list", request("test-narrowed-key-0001", "GET", "/v1/datasets/secret1/x"),
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'secret1'"},
        {"7 file route capture", request("test-viewer-key-0001", "GET", "/reports/customers"),
         DecisionCode::dataset_forbidden, "Not authorized for dataset 'customers'"},
        {"0 an encoded slash in a segment is ambiguous",
         request("test-admin-key-0001", "GET", "/v1/datasets/a%2Fb/rows"),
         DecisionCode::invalid_request, "Invalid request"},
        {"7 glob allowed", request("test-viewer-key-0001", "GET", "/v1/datasets/orders_2024/rows"),
         DecisionCode::ok, ""},
        {"admin bypasses datasets", request("test-admin-key-0001", "GET", "/v1/datasets/any/rows"),
         DecisionCode::ok, ""},
    };
    for (const auto& row : rows) {
        INFO(row.name);
        const Decision d = decide(*store(), row.req, k_now);
        CHECK(d.code == row.code);
        CHECK(detail_text(d) == row.detail);
    }
}

TEST_CASE("decide: the first failing row decides", "[decide]") {
    // disabled AND expired AND wrong ip: disabled (row 3) wins
    Config config = test_config();
    auto& e = config.api_keys.front();
    e.enabled = false;
    e.expires_at = at("2020-01-01");
    e.ip_allowlist = {*parse_cidr("10.0.0.0/8")};
    const auto s = KeyStore::build(config);
    CHECK(decide(*s, request("test-analyst-key-0001"), k_now).code == DecisionCode::key_disabled);
    config.api_keys.front().enabled = true;
    CHECK(decide(*KeyStore::build(config), request("test-analyst-key-0001"), k_now).code ==
          DecisionCode::key_expired);
}

TEST_CASE("decide: expiry boundaries with a fixed clock", "[decide]") {
    const auto r = request("test-expired-key-0001");
    CHECK(decide(*store(), r, at("2023-12-31T23:59:59.999Z")).code == DecisionCode::ok);
    CHECK(decide(*store(), r, at("2024-01-01T00:00:00Z")).code == DecisionCode::key_expired);
    const auto p = request("test-pending-key-0001");
    CHECK(decide(*store(), p, at("2029-12-31T23:59:59Z")).code == DecisionCode::key_expired);
    CHECK(decide(*store(), p, at("2030-01-01T00:00:00Z")).code == DecisionCode::ok);
}

TEST_CASE("decide: previous_keys honoured until expiry, with grace_until", "[decide]") {
    const auto d = decide(*store(), request("test-rotated-old-0001"), at("2025-01-15T00:00:00Z"));
    REQUIRE(d.code == DecisionCode::ok);
    CHECK(d.source == SecretSource::previous);
    REQUIRE(d.grace_until);
    CHECK(format_timestamp(*d.grace_until) == "2025-02-01T00:00:00Z");
    CHECK(d.key->entry.id == "rotated");
    const auto current = decide(*store(), request("test-rotated-new-0001"), k_now);
    CHECK(current.code == DecisionCode::ok);
    CHECK_FALSE(current.grace_until);
}

TEST_CASE("decide: automatic grace windows end as unknown keys", "[decide]") {
    Config config = test_config();
    KeyEntry old = key_entry("analyst", "test-analyst-old-0001", "analyst", "acme");
    const auto s =
        KeyStore::build(config, std::nullopt, {{old.secret, old, at("2025-03-01T12:05:00Z")}});
    const auto in_grace = decide(*s, request("test-analyst-old-0001"), k_now);
    CHECK(in_grace.code == DecisionCode::ok);
    CHECK(in_grace.source == SecretSource::grace);
    CHECK(in_grace.grace_until == at("2025-03-01T12:05:00Z"));
    const auto ended = decide(*s, request("test-analyst-old-0001"), at("2025-03-01T12:05:00Z"));
    CHECK(ended.code == DecisionCode::invalid_key);
    CHECK(ended.reason == InvalidKeyReason::grace_ended);
}

TEST_CASE("decide: permission override and body dataset from /v1/authorize", "[decide]") {
    auto r = request("test-viewer-key-0001", "POST", "/v1/query");
    r.permission = "write";
    CHECK(decide(*store(), r, k_now).code == DecisionCode::insufficient_permission);
    r.permission = "read";
    r.body_dataset = "orders_raw";
    const auto d = decide(*store(), r, k_now);
    CHECK(d.code == DecisionCode::dataset_forbidden);
    CHECK(d.dataset == "orders_raw");
    r.body_dataset = "orders";
    const auto ok = decide(*store(), r, k_now);
    CHECK(ok.code == DecisionCode::ok);
    CHECK(ok.dataset == "orders");
}

TEST_CASE("required_access: defaults after the file's routes", "[decide]") {
    const std::vector<Route> none;
    const auto seg = [](const char* p) { return split_path(p, true); };
    CHECK(required_access(none, "GET", seg("/admin/keys")).permission == "admin");
    CHECK(required_access(none, "HEAD", seg("/v1/datasets/o/x")).permission == "read");
    CHECK(required_access(none, "OPTIONS", seg("/v1/datasets/o")).permission == "read");
    const auto put_segments = seg("/v1/datasets/o/x"); // the captured dataset views these
    const auto put = required_access(none, "PUT", put_segments);
    CHECK(put.permission == "write");
    CHECK(put.dataset == "o");
    CHECK(required_access(none, "POST", seg("/v1/query")).permission == "read");
    CHECK(required_access(none, "POST", seg("/v1/other")).permission == "write");
    CHECK(required_access(none, "GET", seg("/anything")).permission == "read");
    CHECK(required_access(none, "PATCH", seg("/anything")).permission == "write");
}

TEST_CASE("resolved keys: headers precomputed in file order", "[decide]") {
    const ResolvedKey* viewer = store()->find_by_id("viewer");
    REQUIRE(viewer != nullptr);
    CHECK(viewer->permissions_header() == "read");
    CHECK(viewer->datasets_header() == "orders*");
    CHECK(viewer->denied_header() == "orders_raw");
    const ResolvedKey* analyst = store()->find_by_id("analyst");
    CHECK(analyst->permissions_header() == "read,write");
    CHECK(analyst->datasets_header() == "orders,customers");
    CHECK_FALSE(analyst->bypass_rls);
    const ResolvedKey* admin = store()->find_by_id("admin");
    CHECK(admin->permissions_header() == "read,write,admin");
    CHECK(admin->datasets_header() == "*");
    CHECK(admin->bypass_rls);
    CHECK(store()->find_by_id("nope") == nullptr);
}

TEST_CASE("decision codes: one table for names and statuses", "[decide]") {
    CHECK(std::string(code_name(DecisionCode::rate_limited)) == "RATE_LIMITED");
    CHECK(http_status(DecisionCode::rate_limited) == 429);
    CHECK(http_status(DecisionCode::missing_key) == 401);
    CHECK(http_status(DecisionCode::dataset_forbidden) == 403);
    Decision d;
    d.code = DecisionCode::rate_limited;
    CHECK(detail_text(d) == "Rate limit exceeded");
}

TEST_CASE("decide: row 0, an ambiguous request, comes before every other row", "[decide]") {
    // Even without a key, and even for a key that would be allowed.
    auto no_key = request(std::nullopt, "GET", "/v1/datasets/orders%3F/../customers/rows");
    CHECK(decide(*store(), no_key, k_now).code == DecisionCode::invalid_request);
    auto allowed = request("test-analyst-key-0001", "GET", "/v1/datasets/orders%3F/../x/rows");
    const Decision d = decide(*store(), allowed, k_now);
    CHECK(d.code == DecisionCode::invalid_request);
    CHECK(http_status(d.code) == 400);
    CHECK(std::string(code_name(d.code)) == "INVALID_REQUEST");
    CHECK(detail_text(d) == "Invalid request");
    CHECK(d.key == nullptr);
    auto flagged = request("test-analyst-key-0001");
    flagged.ambiguous = true; // headers that disagree
    CHECK(decide(*store(), flagged, k_now).code == DecisionCode::invalid_request);
}

TEST_CASE("decide: why an INVALID_KEY is invalid", "[decide]") {
    CHECK(decide(*store(), request("test-unknown-key-0001"), k_now).reason ==
          InvalidKeyReason::unknown);
    CHECK(decide(*store(), request(std::string("bad\nkey")), k_now).reason ==
          InvalidKeyReason::malformed);
    auto conflicting = request(std::nullopt);
    conflicting.conflicting_keys = true;
    CHECK(decide(*store(), conflicting, k_now).reason == InvalidKeyReason::conflict);
    // A generated-shape key with a wrong check: a typo.
    const std::string good = assemble_key("pk", "acme", std::string(30, 'A'));
    std::string typo = good;
    typo.back() = typo.back() == 'x' ? 'y' : 'x';
    REQUIRE(classify_key(typo) == KeyShape::checksum_bad);
    CHECK(decide(*store(), request(typo), k_now).reason == InvalidKeyReason::checksum);
    CHECK(decide(*store(), request(good), k_now).reason == InvalidKeyReason::unknown);
    CHECK(decide(*store(), request("test-analyst-key-0001"), k_now).reason ==
          InvalidKeyReason::none);
}

TEST_CASE("decide: the checksum never rejects a key the file holds", "[decide]") {
    // An imported key that happens to have the generated shape, with wrong check characters.
    std::string legacy = assemble_key("pk", "acme", std::string(30, 'B'));
    legacy.back() = legacy.back() == 'x' ? 'y' : 'x';
    REQUIRE(classify_key(legacy) == KeyShape::checksum_bad);
    Config config = test_config();
    config.api_keys.push_back(key_entry("legacy", legacy.c_str(), "analyst", "acme"));
    const auto s = KeyStore::build(config);
    const Decision d = decide(*s, request(legacy), k_now);
    CHECK(d.code == DecisionCode::ok);
    REQUIRE(d.key != nullptr);
    CHECK(d.key->entry.id == "legacy");
}

TEST_CASE("decide: a path a case-insensitive backend routes differently is row 0", "[decide]") {
    const auto code = [](const char* method, const char* uri) {
        return decide(*store(), request("test-viewer-key-0001", method, uri), k_now).code;
    };
    // To keygate these name no dataset; a case-insensitive backend serves `customers`.
    CHECK(code("GET", "/V1/DATASETS/customers/rows") == DecisionCode::invalid_request);
    CHECK(code("GET", "/v1/Datasets/customers/rows") == DecisionCode::invalid_request);
    CHECK(code("GET", "/ADMIN/x") == DecisionCode::invalid_request);
    // Upper case that routes the same way is fine: a dataset name keeps its case.
    CHECK(code("GET", "/v1/datasets/Orders/rows") == DecisionCode::dataset_forbidden);
    CHECK(code("GET", "/v1/datasets/orders/Rows") == DecisionCode::ok);
    CHECK(code("GET", "/Reports-Overview") == DecisionCode::ok);
    CHECK(required_access({}, "GET", {"V1", "DATASETS", "x"}, RouteCase::fold).dataset == "x");
    CHECK_FALSE(required_access({}, "GET", {"V1", "DATASETS", "x"}).dataset);
}
