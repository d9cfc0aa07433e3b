// Fuzz target: an auth subrequest, from its headers to the decision and the answer, through
// the functions HttpApi uses (gather_request_headers, original_from_headers /
// original_from_envoy_target or parse_authorize_request, map_auth_request, decide,
// write_decision) against a small fixed key set with routes and dataset globs.
//
// Input (text; see corpus/fuzz_request_mapping/ for examples):
//   METHOD SP RAW-TARGET LF      the subrequest's own request line (target as on the wire)
//   PEER LF                      the TCP peer's address (unparsable: 192.0.2.1, untrusted)
//   NAME: VALUE LF ...           header fields, any number, repeated names allowed
//   LF
//   BODY                         the rest
#include "core/config_loader.hpp"
#include "core/decide.hpp"
#include "core/digest.hpp"
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "fuzz_check.hpp"
#include "infra/decision_json.hpp"
#include "server/auth_response.hpp"
#include "server/authorize_request.hpp"
#include "server/request_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace keygate;

// Obviously fake keys: not in keygate's generated format, so they are looked up as they are.
constexpr const char* k_key_file = R"(version: 1
settings:
  header: X-API-Key
  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8, "::1/128"]
  allow_query_key: true
roles:
  auditor: {permissions: [read, audit, export], bypass_rls: false}
tenants:
  acme:
    allowed_datasets: [orders, "cust*", "sales_??", "eu.*.daily"]
    denied_datasets: [orders_raw, "cust*_pii"]
  globex:
    denied_datasets: ["secret*"]
routes:
  - {path: "/reports/{dataset}", methods: [GET], permission: read}
  - {path: "/audit/**", permission: audit}
  - {path: "/v1/reports/*/pdf", permission: read}
  - {path: "/files/{dataset}/*.csv", methods: [GET, HEAD], permission: export}
  - {path: "/v1/query", methods: [POST], permission: read}
api_keys:
  - {id: analyst, key: "test-fuzz-analyst-key-0001", tenant: acme, role: analyst}
  - id: viewer
    key: "test-fuzz-viewer-key-0001"
    tenant: acme
    role: viewer
    allowed_datasets: ["orders*"]
    denied_datasets: [orders_raw]
  - {id: disabled, key: "test-fuzz-disabled-key-0001", tenant: acme, role: analyst, enabled: false}
  - {id: expired, key: "test-fuzz-expired-key-0001", tenant: acme, role: analyst, expires_at: 2024-01-01}
  - {id: pending, key: "test-fuzz-pending-key-0001", tenant: acme, role: analyst, not_before: 2030-01-01}
  - id: office
    key: "test-fuzz-office-key-0001"
    tenant: acme
    role: analyst
    ip_allowlist: [10.0.0.0/8, 192.168.1.100, "2001:db8::/32"]
  - id: rotated
    key: "test-fuzz-rotated-new-0001"
    tenant: globex
    role: auditor
    previous_keys:
      - {key_hash: "PREVIOUS_HASH", expires_at: 2025-06-01T00:00:00Z}
  - {id: admin, key: "test-fuzz-admin-key-0001", role: admin}
  - {id: narrowed, key: "test-fuzz-narrowed-key-0001", tenant: globex, role: analyst, permissions: [read]}
)";

const TimePoint& now() {
    static const TimePoint t = *parse_timestamp("2025-03-01T12:00:00Z");
    return t;
}

const KeyStore& store() {
    static const std::shared_ptr<const KeyStore> s = [] {
        std::string text = k_key_file;
        const std::string previous =
            format_secret({HashKind::sha256, sha256("test-fuzz-rotated-old-0001")});
        text.replace(text.find("PREVIOUS_HASH"), 13, previous);
        LoadOptions options;
        options.now = now();
        LoadResult loaded = load_config_text(text, options);
        for (const Diagnostic& d : loaded.diagnostics.items) {
            if (d.severity == Severity::error)
                std::fprintf(stderr, "%s\n", format_diagnostic("fuzz key file", d).c_str());
        }
        FUZZ_CHECK(loaded.config.has_value());
        return KeyStore::build(std::move(*loaded.config));
    }();
    return *s;
}

/// The next line of `input` (without LF, and without a CR before it).
std::string_view next_line(std::string_view& input) {
    const auto lf = input.find('\n');
    std::string_view line = input.substr(0, lf);
    input = lf == std::string_view::npos ? std::string_view{} : input.substr(lf + 1);
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

struct FuzzRequest {
    std::string method = "GET";
    std::string target = "/";
    IpAddress peer;
    http::Request headers; ///< only its header fields are used
    std::string body;
};

FuzzRequest parse_input(std::string_view input) {
    FuzzRequest out;
    const std::string_view request_line = next_line(input);
    const auto space = request_line.find(' ');
    out.method = std::string(request_line.substr(0, space));
    if (space != std::string_view::npos)
        out.target = std::string(request_line.substr(space + 1));
    out.peer = parse_ip(next_line(input)).value_or(*parse_ip("192.0.2.1"));
    while (!input.empty()) {
        const std::string_view line = next_line(input);
        if (line.empty())
            break;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        std::string_view value = line.substr(colon + 1);
        // As the head parser: leading blanks are not part of the value.
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        out.headers.add_header(line.substr(0, colon), value);
    }
    out.body = std::string(input);
    return out;
}

bool upper_case(std::string_view text) {
    for (const char c : text) {
        if (c >= 'a' && c <= 'z')
            return false;
    }
    return true;
}

void check_headers(const http::Request& all, const RequestHeaders& headers) {
    std::size_t bytes = 0;
    for (const auto& [name, value] : all.fields())
        bytes += name.size() + value.size() + 4;
    FUZZ_CHECK(headers.count == all.fields().size());
    FUZZ_CHECK(headers.bytes == bytes);
    FUZZ_CHECK(headers.all.data() == all.fields().data());
}

void check_uri(const OriginalTarget& target) {
    const OriginalUri uri = read_original_uri(target.uri);
    FUZZ_CHECK(!uri.path.empty());
    for (const std::string& segment : uri.segments) {
        // Dot segments are resolved and empty ones dropped, so a route cannot be escaped;
        // no segment holds a byte another reader could split or decode differently.
        FUZZ_CHECK(!segment.empty() && segment != "." && segment != "..");
        FUZZ_CHECK(segment.find_first_of(std::string_view("/\\?#%\0", 6)) == std::string::npos);
    }
    if (uri.ambiguous)
        FUZZ_CHECK(uri.segments.empty() && uri.datasets.empty() && !uri.why.empty());
    AuthRequest request;
    apply_original_uri(request, uri);
    FUZZ_CHECK(request.path == uri.path && request.segments == uri.segments);
    FUZZ_CHECK(request.query_datasets == uri.datasets);
}

/// True when `text` contains the presented key, when that key matched one of the store's (a
/// real secret). Other presented keys are not checked: a short invalid "key" may well be a
/// substring of a fixed text such as "application/json".
bool leaks_key(std::string_view text, const AuthRequest& request, const Decision& decision) {
    if (!request.key || decision.key == nullptr)
        return false;
    const std::string& key = *request.key;
    if (text.find(key) == std::string_view::npos)
        return false;
    // The client chose the datasets and the path: when one holds the key, seeing it is no leak.
    const auto holds = [&](std::string_view echo) {
        return echo.find(key) != std::string_view::npos;
    };
    if (holds(request.path) || (request.header_dataset && holds(*request.header_dataset)) ||
        (request.body_dataset && holds(*request.body_dataset)) ||
        (request.permission && holds(*request.permission)))
        return false;
    for (const std::string& d : request.query_datasets) {
        if (holds(d))
            return false;
    }
    return true;
}

void check_decision(const AuthRequest& request, const Decision& decision,
                    const Settings& settings) {
    const int status = http_status(decision.code);
    FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 403 || status == 429);
    FUZZ_CHECK(code_name(decision.code) != nullptr && *code_name(decision.code) != '\0');
    if (request.ambiguous) {
        FUZZ_CHECK(decision.code == DecisionCode::invalid_request);
        return;
    }
    if (decision.code == DecisionCode::invalid_request)
        return; // a path a case-insensitive backend routes differently
    if (request.conflicting_keys)
        FUZZ_CHECK(decision.code == DecisionCode::invalid_key);
    else if (!request.key)
        FUZZ_CHECK(decision.code == DecisionCode::missing_key);
    FUZZ_CHECK(detail_text(decision).empty() == decision.allowed());

    if (decision.allowed()) {
        const ResolvedKey* key = decision.key;
        FUZZ_CHECK(key != nullptr && request.key);
        FUZZ_CHECK(key->entry.enabled);
        FUZZ_CHECK(key->has_permission(decision.permission));
        if (!key->entry.ip_allowlist.empty())
            FUZZ_CHECK(in_ranges(request.client_ip, key->entry.ip_allowlist));
        const RequiredAccess access =
            required_access(store().config().routes, request.method, request.segments);
        FUZZ_CHECK(
            decision.permission ==
            (request.permission ? std::string_view(*request.permission) : access.permission));
        // Every dataset the request names is a valid name this key may read.
        const auto allowed = [&](std::string_view name) {
            return valid_dataset_name(name) && key->dataset_allowed(name);
        };
        if (access.dataset)
            FUZZ_CHECK(allowed(*access.dataset));
        for (const std::string& name : request.query_datasets)
            FUZZ_CHECK(allowed(name));
        if (request.header_dataset)
            FUZZ_CHECK(allowed(*request.header_dataset));
        if (request.body_dataset)
            FUZZ_CHECK(allowed(*request.body_dataset));
    }

    const std::string json = decision_json(decision).dump(
        -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    FUZZ_CHECK(!nlohmann::json::parse(json, nullptr, false).is_discarded());
    FUZZ_CHECK(!leaks_key(json, request, decision));

    for (const StatusStyle style : {StatusStyle::standard, StatusStyle::nginx}) {
        http::Response res;
        write_decision(res, decision, nullptr, settings.header, style);
        FUZZ_CHECK(res.status == answer_status(decision.code, style));
        FUZZ_CHECK(decision.allowed() == res.body.empty());
        if (!res.body.empty())
            FUZZ_CHECK(!nlohmann::json::parse(res.body, nullptr, false).is_discarded());
        FUZZ_CHECK(!leaks_key(res.body, request, decision));
        for (const auto& [name, value] : res.headers) {
            FUZZ_CHECK(!name.empty());
            // No request-derived byte may split or end a response header.
            FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
            FUZZ_CHECK(!leaks_key(value, request, decision));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const KeyStore& keys = store();
    const Settings& settings = keys.config().settings;
    try {
        const FuzzRequest in =
            parse_input(std::string_view(reinterpret_cast<const char*>(data), size));
        const RequestHeaders headers = gather_request_headers(in.headers.fields(), settings.header);
        check_headers(in.headers, headers);

        AuthRequest request;
        if (in.target == "/v1/authorize" || in.target.starts_with("/v1/authorize?")) {
            auto question = parse_authorize_request(in.body, headers, in.peer, settings);
            if (!question) {
                FUZZ_CHECK(!question.error().message.empty());
                return 0;
            }
            request = std::move(question->request);
            if (!in_ranges(in.peer, settings.trusted_proxies))
                FUZZ_CHECK(request.client_ip == in.peer);
        } else {
            const bool envoy = is_envoy_target(in.target);
            const TargetSource source =
                in.target.starts_with("/auth/nginx")     ? TargetSource::original
                : in.target.starts_with("/auth/forward") ? TargetSource::forwarded
                                                         : TargetSource::either;
            const std::optional<OriginalTarget> target =
                envoy ? original_from_envoy_target(in.target, in.method)
                      : std::optional<OriginalTarget>(original_from_headers(headers, source));
            FUZZ_CHECK(target.has_value());
            FUZZ_CHECK(upper_case(target->method) && !target->uri.empty());
            check_uri(*target);
            request = map_auth_request(headers, *target, in.peer, settings, in.body);
            FUZZ_CHECK(request.method == target->method);
            const IpAddress client = resolve_client_ip(in.peer, settings.trusted_proxies, headers);
            FUZZ_CHECK(request.client_ip == client);
            if (!in_ranges(in.peer, settings.trusted_proxies))
                FUZZ_CHECK(client == in.peer);
        }
        FUZZ_CHECK(!(request.key && request.conflicting_keys));
        if (request.key)
            FUZZ_CHECK(!request.key->empty());
        check_decision(request, decide(keys, request, now()), settings);
    } catch (...) {
        // The server's exception handler would turn this into a 500 on a live request.
        FUZZ_CHECK(!"an exception escaped the request mapping");
    }
    return 0;
}
