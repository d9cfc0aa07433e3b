// JSON body -> AuthRequest for /v1/authorize.
#include "server/authorize_request.hpp"

#include <nlohmann/json.hpp>

namespace keygate {
namespace {

using json = nlohmann::json;

/// The string field `name`: nullopt when absent, null or empty; an error for another type.
Result<std::optional<std::string>> string_field(const json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null())
        return std::optional<std::string>{};
    if (!it->is_string())
        return fail(std::string("'") + name + "' must be a string");
    std::string value = it->get<std::string>();
    if (value.empty())
        return std::optional<std::string>{};
    return std::optional<std::string>(std::move(value));
}

std::string upper(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    }
    return text;
}

} // namespace

Result<AuthorizeQuestion> parse_authorize_request(std::string_view body,
                                                  const RequestHeaders& headers,
                                                  const IpAddress& peer, const Settings& settings) {
    json document = json::object();
    if (!body.empty()) {
        document = json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (document.is_discarded())
            return fail("Malformed JSON body");
        if (!document.is_object())
            return fail("The body must be a JSON object");
    }
    auto dataset = string_field(document, "dataset");
    auto permission = string_field(document, "permission");
    auto method = string_field(document, "method");
    auto path = string_field(document, "path");
    auto client_ip = string_field(document, "client_ip");
    auto api_key = string_field(document, "api_key");
    for (const auto* field : {&dataset, &permission, &method, &path, &client_ip, &api_key}) {
        if (!*field)
            return Unexpected(field->error());
    }
    AuthorizeQuestion question;
    if (const auto it = document.find("consume"); it != document.end() && !it->is_null()) {
        if (!it->is_boolean())
            return fail("'consume' must be true or false");
        question.consume = it->get<bool>();
    }

    AuthRequest& request = question.request;
    std::optional<std::string_view> body_key;
    if (*api_key)
        body_key = **api_key;
    KeySelection selection = select_request_key(headers, body_key);
    request.key = std::move(selection.key);
    request.conflicting_keys = selection.conflicting;
    request.method = *method ? upper(**method) : std::string("GET");
    const std::string uri = path->value_or("/");
    apply_original_uri(request, read_original_uri(uri));
    request.body_dataset = std::move(*dataset);
    request.permission = std::move(*permission);

    if (!in_ranges(peer, settings.trusted_proxies)) {
        request.client_ip = peer;
    } else if (*client_ip) {
        const auto ip = parse_ip(**client_ip);
        if (!ip)
            return fail("'client_ip' is not an IP address");
        request.client_ip = *ip;
    } else {
        request.client_ip = resolve_client_ip(peer, settings.trusted_proxies, headers);
    }
    question.endpoint = *path ? **path : std::string("/v1/authorize");
    return question;
}

} // namespace keygate
