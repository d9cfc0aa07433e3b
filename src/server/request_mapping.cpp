// Mapping a proxy's auth subrequest to the inputs of decide().
#include "server/request_mapping.hpp"

#include "core/json_depth.hpp"
#include "http/ascii.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace keygate {
namespace {

constexpr std::string_view k_forwarded_for = "X-Forwarded-For";
constexpr std::string_view k_dataset = "X-Dataset";

constexpr std::string_view k_envoy_prefix = "/auth/envoy";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

/// Case-insensitive ASCII equality; `lower` must be lower case already.
bool equals_lower(std::string_view text, std::string_view lower) {
    if (text.size() != lower.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (ascii_lower(text[i]) != lower[i])
            return false;
    }
    return true;
}

void add_single(SingleValue& single, std::string_view value) {
    value = trim(value);
    if (value.empty())
        return;
    if (!single.value) {
        single.value = value;
    } else if (*single.value != value) {
        single.conflict = true;
    }
}

/// An HTTP method is a token; anything else cannot be the method an upstream serves.
bool method_token(std::string_view method) {
    if (method.empty() || method.size() > 32)
        return false;
    for (const char c : method) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '!' || c == '#' ||
                        c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
                        c == '.' || c == '^' || c == '`' || c == '|' || c == '~';
        if (!ok)
            return false;
    }
    return true;
}

/// One part (method or URI) of the original target from its header(s).
struct TargetPart {
    std::optional<std::string_view> value;
    bool ambiguous = false;
};

TargetPart pick_part(const SingleValue& original, const SingleValue& forwarded,
                     TargetSource source) {
    switch (source) {
    case TargetSource::original:
        return {original.value, original.conflict};
    case TargetSource::forwarded:
        return {forwarded.value, forwarded.conflict};
    case TargetSource::either:
        break;
    }
    if (original.conflict || forwarded.conflict)
        return {std::nullopt, true};
    if (original.value && forwarded.value && *original.value != *forwarded.value)
        return {std::nullopt, true};
    return {original.value ? original.value : forwarded.value, false};
}

bool lower_hex(std::string_view text) {
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

} // namespace

RequestHeaders gather_request_headers(std::span<const HeadField> headers,
                                      std::string_view key_header) {
    RequestHeaders out;
    out.all = headers;
    for (const auto& [name, value] : headers) {
        ++out.count;
        out.bytes += name.size() + value.size() + 4;
        const std::string_view view = value;
        if (ascii_iequals(name, key_header))
            add_single(out.key, view);
        // Dispatch on the length first: most fields are compared with nothing.
        switch (name.size()) {
        case 9:
            if (equals_lower(name, "x-real-ip")) {
                out.real_ip = view;
            } else if (equals_lower(name, "x-dataset") && !value.empty()) {
                if (!out.dataset) {
                    out.dataset = view;
                } else if (*out.dataset != view) {
                    out.dataset_repeated = true;
                }
            }
            break;
        case 10:
            if (equals_lower(name, "user-agent"))
                out.user_agent = view;
            break;
        case 11:
            if (!out.traceparent && equals_lower(name, "traceparent"))
                out.traceparent = view;
            break;
        case 12:
            if (equals_lower(name, "content-type"))
                out.content_type = view;
            else if (equals_lower(name, "x-request-id"))
                out.request_id = view;
            break;
        case 13:
            if (equals_lower(name, "authorization"))
                add_single(out.authorization, view);
            break;
        case 14:
            if (equals_lower(name, "x-original-uri"))
                add_single(out.original_uri, view);
            else if (equals_lower(name, "content-length"))
                out.content_length = view;
            break;
        case 15:
            if (equals_lower(name, "x-forwarded-uri"))
                add_single(out.forwarded_uri, view);
            else if (equals_lower(name, "x-forwarded-for"))
                out.has_forwarded_for = true;
            break;
        case 16:
            if (equals_lower(name, "content-encoding"))
                out.content_encoding = view;
            break;
        case 17:
            if (equals_lower(name, "x-original-method"))
                add_single(out.original_method, view);
            else if (equals_lower(name, "transfer-encoding"))
                out.transfer_encoding = view;
            break;
        case 18:
            if (equals_lower(name, "x-forwarded-method"))
                add_single(out.forwarded_method, view);
            break;
        default:
            break;
        }
    }
    return out;
}

OriginalTarget original_from_headers(const RequestHeaders& headers, TargetSource source) {
    const TargetPart method = pick_part(headers.original_method, headers.forwarded_method, source);
    const TargetPart uri = pick_part(headers.original_uri, headers.forwarded_uri, source);
    OriginalTarget target;
    target.ambiguous = method.ambiguous || uri.ambiguous;
    if (method.value) {
        if (method_token(*method.value)) {
            target.method = upper(*method.value);
        } else {
            target.ambiguous = true;
        }
    }
    if (uri.value)
        target.uri = std::string(*uri.value);
    return target;
}

bool is_envoy_target(std::string_view raw_target) {
    if (!raw_target.starts_with(k_envoy_prefix))
        return false;
    const std::string_view rest = raw_target.substr(k_envoy_prefix.size());
    return rest.empty() || rest.front() == '/' || rest.front() == '?';
}

std::optional<OriginalTarget> original_from_envoy_target(std::string_view raw_target,
                                                         std::string_view method) {
    if (!is_envoy_target(raw_target))
        return std::nullopt;
    const std::string_view rest = raw_target.substr(k_envoy_prefix.size());
    OriginalTarget target;
    target.method = upper(method);
    // "" asks about "/"; "?a=b" (from "/auth/envoy?a=b") parses as the root path with that
    // query.
    if (rest.starts_with('?')) {
        target.uri = "/" + std::string(rest);
    } else if (!rest.empty()) {
        target.uri = std::string(rest);
    }
    return target;
}

OriginalTarget original_from_check(std::string_view method, std::string_view path) {
    OriginalTarget target;
    if (!method.empty()) {
        if (method_token(method)) {
            target.method = upper(method);
        } else {
            target.ambiguous = true;
        }
    }
    if (!path.empty())
        target.uri = std::string(path);
    return target;
}

std::optional<IpAddress> parse_forwarded_hop(std::string_view hop) {
    hop = trim(hop);
    if (hop.starts_with('[')) {
        const auto close = hop.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        const std::string_view rest = hop.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':'))
            return std::nullopt;
        return parse_ip(hop.substr(1, close - 1));
    }
    if (auto ip = parse_ip(hop))
        return ip;
    // "a.b.c.d:port": exactly one colon (more would be a bare IPv6 address).
    const auto colon = hop.find(':');
    if (colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
        return parse_ip(hop.substr(0, colon));
    }
    return std::nullopt;
}

bool in_ranges(const IpAddress& ip, const std::vector<Cidr>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const Cidr& range) { return range.contains(ip); });
}

IpAddress resolve_client_ip(const IpAddress& peer, const std::vector<Cidr>& trusted,
                            const RequestHeaders& headers) {
    if (!in_ranges(peer, trusted))
        return peer;
    if (headers.real_ip) {
        if (auto ip = parse_forwarded_hop(*headers.real_ip))
            return *ip;
    }
    if (!headers.has_forwarded_for)
        return peer;
    std::vector<std::string_view> hops;
    for (const HeadField& field : headers.all) {
        if (!ascii_iequals(field.name, k_forwarded_for))
            continue;
        std::string_view value = field.value;
        while (!value.empty()) {
            const auto comma = value.find(',');
            hops.push_back(value.substr(0, comma));
            value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        }
    }
    IpAddress client = peer;
    for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
        const auto ip = parse_forwarded_hop(*hop);
        if (!ip)
            break;
        client = *ip;
        if (!in_ranges(client, trusted))
            break;
    }
    return client;
}

KeySelection select_request_key(const RequestHeaders& headers,
                                std::optional<std::string_view> query_key) {
    if (headers.key.conflict || headers.authorization.conflict) {
        return KeySelection{std::nullopt, true};
    }
    PresentedCredentials credentials;
    credentials.header = headers.key.value;
    credentials.authorization = headers.authorization.value;
    credentials.query = query_key;
    return select_key(credentials);
}

std::optional<std::string> header_dataset(const RequestHeaders& headers) {
    if (!headers.dataset)
        return std::nullopt;
    if (!headers.dataset_repeated)
        return std::string(*headers.dataset);
    std::optional<std::string> joined;
    for (const HeadField& field : headers.all) {
        if (field.value.empty() || !ascii_iequals(field.name, k_dataset))
            continue;
        if (!joined) {
            joined = std::string(field.value);
        } else if (*joined != field.value) {
            *joined += ',';
            *joined += field.value;
        }
    }
    return joined;
}

std::optional<std::string> body_dataset(std::string_view content_type, std::string_view body) {
    const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
    const bool json_media =
        ascii_iequals(media, "application/json") ||
        (media.size() > 5 && ascii_iequals(media.substr(media.size() - 5), "+json"));
    if (!json_media || body.empty())
        return std::nullopt;
    // A non-string dataset is dumped below, which recurses once per level: a body too deep
    // to read safely is denied like any other dataset that is not a name.
    if (json_nesting_exceeds(body))
        return std::string("(body nested too deeply)");

    using json = nlohmann::json;
    int dataset_fields = 0;
    const json::parser_callback_t count_fields = [&](int depth, json::parse_event_t event,
                                                     json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 && parsed == "dataset") {
            ++dataset_fields;
        }
        return true;
    };
    const json document = json::parse(body, count_fields, /*allow_exceptions=*/false);
    if (!document.is_object())
        return std::nullopt;
    if (dataset_fields > 1)
        return std::string("(dataset given twice)");
    const auto it = document.find("dataset");
    if (it == document.end() || it->is_null())
        return std::nullopt;
    if (it->is_string())
        return it->get<std::string>();
    return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string_view> trace_id_of(std::string_view traceparent) {
    traceparent = trim(traceparent);
    // version "-" trace-id "-" parent-id "-" flags; a later version may append fields.
    if (traceparent.size() < 55 || traceparent[2] != '-' || traceparent[35] != '-' ||
        traceparent[52] != '-') {
        return std::nullopt;
    }
    const std::string_view version = traceparent.substr(0, 2);
    const std::string_view trace = traceparent.substr(3, 32);
    const std::string_view parent = traceparent.substr(36, 16);
    const std::string_view flags = traceparent.substr(53, 2);
    if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) ||
        !lower_hex(flags)) {
        return std::nullopt;
    }
    if (version == "00" && traceparent.size() != 55)
        return std::nullopt;
    if (traceparent.size() > 55 && traceparent[55] != '-')
        return std::nullopt;
    if (trace.find_first_not_of('0') == std::string_view::npos ||
        parent.find_first_not_of('0') == std::string_view::npos) {
        return std::nullopt;
    }
    return trace;
}

AuthRequest map_auth_request(const RequestHeaders& headers, const OriginalTarget& target,
                             const IpAddress& peer, const Settings& settings,
                             std::string_view body) {
    AuthRequest request;
    request.method = target.method;
    request.ambiguous = target.ambiguous;
    OriginalUri uri = read_original_uri(target.uri);
    std::optional<std::string_view> query_key;
    if (settings.allow_query_key && uri.api_key)
        query_key = *uri.api_key;
    KeySelection selection = select_request_key(headers, query_key);
    request.key = std::move(selection.key);
    request.conflicting_keys = selection.conflicting;
    request.key_in_query = query_key && request.key && *request.key == *query_key;
    apply_original_uri(request, std::move(uri));
    request.header_dataset = header_dataset(headers);
    if (!body.empty()) {
        request.body_dataset =
            body_dataset(headers.content_type.value_or(std::string_view{}), body);
    }
    request.client_ip = resolve_client_ip(peer, settings.trusted_proxies, headers);
    return request;
}

} // namespace keygate
