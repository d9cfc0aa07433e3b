// CheckRequest -> AuthQuestion, HTTP answer -> CheckResponse.
#include "grpc/check_mapping.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <string>

namespace keygate {
namespace {

using envoy::config::core::v3::HeaderValueOption;

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

bool starts_with_lower(std::string_view text, std::string_view lower_prefix) {
    if (text.size() < lower_prefix.size())
        return false;
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        if (ascii_lower(text[i]) != lower_prefix[i])
            return false;
    }
    return true;
}

/// A header to set (never append: a client's own X-Auth-Tenant must not survive beside ours).
void add_set_header(google::protobuf::RepeatedPtrField<HeaderValueOption>& to,
                    std::string_view name, std::string_view value) {
    HeaderValueOption* option = to.Add();
    std::string& key = *option->mutable_header()->mutable_key();
    key.assign(name); // lower-cased in place: no temporary string per header
    for (char& c : key)
        c = ascii_lower(c);
    option->mutable_header()->set_value(value.data(), value.size());
    // Every Envoy version reads `append` first when it is set: false is "set"; append_action
    // stays at its default, as Envoy requires when `append` is given.
    option->mutable_append()->set_value(false);
}

void add_removal(google::protobuf::RepeatedPtrField<std::string>& removals, std::string name) {
    if (std::find(removals.begin(), removals.end(), name) == removals.end())
        *removals.Add() = std::move(name);
}

void set_string(google::protobuf::Struct& metadata, const char* name, const std::string& value) {
    (*metadata.mutable_fields())[name].set_string_value(value);
}

} // namespace

AuthQuestion CheckQuestion::question() const {
    return AuthQuestion{fields, target, peer, body, DecisionEndpoint::grpc};
}

CheckQuestion read_check_request(const envoy::service::auth::v3::CheckRequest& request) {
    CheckQuestion out;
    const auto& attributes = request.attributes();
    const auto& http = attributes.request().http();
    if (http.has_header_map() && http.header_map().headers_size() > 0) {
        out.fields.reserve(static_cast<std::size_t>(http.header_map().headers_size()));
        for (const auto& header : http.header_map().headers()) {
            const std::string& value =
                header.raw_value().empty() ? header.value() : header.raw_value();
            out.fields.push_back({header.key(), value});
        }
    } else {
        out.fields.reserve(http.headers().size());
        for (const auto& [name, value] : http.headers())
            out.fields.push_back({name, value});
        // A protobuf map has no order; the decision reads no header whose order matters
        // once Envoy merged the repeated ones, but sort for one reproducible reading.
        std::sort(out.fields.begin(), out.fields.end(),
                  [](const HeadField& a, const HeadField& b) { return a.name < b.name; });
    }
    out.target = original_from_check(http.method(), http.path());
    const auto& source = attributes.source().address();
    if (source.has_socket_address()) {
        out.peer = parse_ip(source.socket_address().address()).value_or(IpAddress{});
    }
    out.body =
        http.body().empty() ? std::string_view(http.raw_body()) : std::string_view(http.body());
    return out;
}

RpcCode rpc_code_for_status(int http_status) {
    if (http_status == 200)
        return RpcCode::ok;
    if (http_status == 401)
        return RpcCode::unauthenticated;
    return RpcCode::permission_denied;
}

void write_check_response(const http::Response& answer, const AuthSummary& summary,
                          const CheckQuestion& question,
                          envoy::service::auth::v3::CheckResponse& out) {
    const int status = answer.status == -1 ? 200 : answer.status;
    const RpcCode code = rpc_code_for_status(status);
    out.mutable_status()->set_code(static_cast<int>(code));
    if (code == RpcCode::ok) {
        auto& ok = *out.mutable_ok_response();
        // The lower-case names of the headers set, views of the keys in `ok` (which keeps
        // its elements in place as it grows).
        std::vector<std::string_view> set_names;
        set_names.reserve(answer.headers.size());
        for (const http::ResponseField& field : answer.headers) {
            if (starts_with_lower(field.name, "x-auth-")) {
                add_set_header(*ok.mutable_headers(), field.name, field.value);
                set_names.push_back(ok.headers(ok.headers_size() - 1).header().key());
            } else {
                add_set_header(*ok.mutable_response_headers_to_add(), field.name, field.value);
            }
        }
        // The key never reaches the upstream, nor an X-Auth-* header keygate did not vouch for.
        add_removal(*ok.mutable_headers_to_remove(), lower(summary.key_header));
        if (summary.bearer_holds_key)
            add_removal(*ok.mutable_headers_to_remove(), "authorization");
        for (const HeadField& field : question.fields) {
            if (!starts_with_lower(field.name, "x-auth-"))
                continue; // most headers: no lower-cased copy
            std::string name = lower(field.name);
            if (std::find(set_names.begin(), set_names.end(), name) == set_names.end())
                add_removal(*ok.mutable_headers_to_remove(), std::move(name));
        }
    } else {
        out.mutable_status()->set_message(answer.get_header_value("X-Auth-Error-Code"));
        auto& denied = *out.mutable_denied_response();
        denied.mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(status));
        for (const http::ResponseField& field : answer.headers)
            add_set_header(*denied.mutable_headers(), field.name, field.value);
        denied.set_body(answer.body);
    }
    if (summary.decided) {
        auto& metadata = *out.mutable_dynamic_metadata();
        set_string(metadata, "code", code_name(summary.code));
        if (!summary.key_id.empty()) {
            set_string(metadata, "key_id", summary.key_id);
            set_string(metadata, "role", summary.role);
            if (!summary.tenant.empty())
                set_string(metadata, "tenant", summary.tenant);
        }
    }
}

} // namespace keygate
