// Fuzz target: the gRPC Check's own protobuf reader and writer (src/grpc/check_mapping.*),
// differential against libprotobuf's classes of the same proto/ files.
//
// Input: one control byte, then the wire bytes of a CheckRequest.
// - Reader: whenever protobuf parses the bytes, read_check_request must take them too and
//   read what protobuf holds: method and path (as original_from_check takes them), the
//   header_map's entries in order (raw_value over value) else the headers map (one entry
//   per name, the last one, sorted by name), the socket address's IP (else "::"), the body
//   (else raw_body). Bytes protobuf refuses may be taken (keygate skips the messages it
//   does not read and takes strings as bytes): only a refusal of what protobuf takes, or a
//   different reading, is a bug.
// - Writer: the question's headers (made printable) become an answer's headers, with a
//   status and an AuthSummary from the control byte; write_check_response's bytes must
//   parse as a CheckResponse that says what CONTRACT §6 says: the rpc code, allowed
//   X-Auth-* headers set (append false) and the rest in response_headers_to_add, each
//   removal once and lower case (the key header, authorization for a Bearer key, every
//   client x-auth-* header keygate did not set), query parameters removed only when the
//   query held the key and only names the query has; denied: the HTTP status, every
//   header and the body; dynamic_metadata exactly when decided.
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "fuzz_check.hpp"
#include "grpc/check_mapping.hpp"
#include "http/ascii.hpp"
#include "server/request_mapping.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <google/protobuf/stubs/logging.h>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

namespace {

using namespace keygate;

/// The headers protobuf holds for the question (see the top of this file).
std::vector<std::pair<std::string, std::string>>
expected_fields(const envoy::service::auth::v3::AttributeContext_HttpRequest& http) {
    std::vector<std::pair<std::string, std::string>> fields;
    if (http.header_map().headers_size() > 0) {
        for (const auto& header : http.header_map().headers())
            fields.emplace_back(header.key(),
                                header.raw_value().empty() ? header.value() : header.raw_value());
        return fields;
    }
    const std::map<std::string, std::string> sorted(http.headers().begin(), http.headers().end());
    fields.assign(sorted.begin(), sorted.end());
    return fields;
}

void check_reading(const CheckRequest& reference, const CheckQuestion& question) {
    const auto& attributes = reference.attributes();
    const auto& http = attributes.request().http();
    const auto fields = expected_fields(http);
    FUZZ_CHECK(question.fields.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
        FUZZ_CHECK(question.fields[i].name == fields[i].first);
        FUZZ_CHECK(question.fields[i].value == fields[i].second);
    }
    const OriginalTarget target = original_from_check(http.method(), http.path());
    FUZZ_CHECK(question.target.method == target.method);
    FUZZ_CHECK(question.target.uri == target.uri);
    FUZZ_CHECK(question.target.ambiguous == target.ambiguous);
    const auto& address = attributes.source().address();
    const IpAddress peer = address.has_socket_address()
                               ? parse_ip(address.socket_address().address()).value_or(IpAddress{})
                               : IpAddress{};
    FUZZ_CHECK(question.peer == peer);
    FUZZ_CHECK(question.body == (http.body().empty() ? http.raw_body() : http.body()));
}

/// `text` with every byte outside printable ASCII (and, in a name, ':' and ' ') replaced, as
/// keygate's own answers are; empty names get one.
std::string printable(std::string_view text, bool name) {
    std::string out;
    for (const char c : text) {
        const bool ok = name ? (c > ' ' && c < 0x7f && c != ':') : (c >= ' ' && c < 0x7f);
        out += ok ? c : 'x';
    }
    if (name && out.empty())
        out = "x-empty";
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

bool is_x_auth(std::string_view name) {
    return name.size() >= 7 && ascii_iequals(name.substr(0, 7), "x-auth-");
}

/// The raw names of the '&'-parameters of `uri`'s query.
std::set<std::string> query_names(std::string_view uri) {
    std::set<std::string> names;
    const auto mark = uri.find('?');
    if (mark == std::string_view::npos)
        return names;
    std::string_view query = uri.substr(mark + 1);
    query = query.substr(0, query.find('#'));
    while (true) {
        const auto amp = query.find('&');
        const std::string_view parameter = query.substr(0, amp);
        names.emplace(parameter.substr(0, parameter.find('=')));
        if (amp == std::string_view::npos)
            break;
        query = query.substr(amp + 1);
    }
    return names;
}

void check_header_option(const envoy::config::core::v3::HeaderValueOption& option,
                         const http::ResponseField& field) {
    FUZZ_CHECK(option.header().key() == lower(field.name));
    FUZZ_CHECK(option.header().value() == field.value);
    FUZZ_CHECK(option.has_append() && !option.append().value());
}

void check_writing(std::uint8_t control, const CheckQuestion& question) {
    static constexpr std::array<int, 7> statuses = {-1, 200, 401, 403, 429, 400, 200};
    http::Response answer;
    answer.status = statuses[control % statuses.size()];
    const int status = answer.status == -1 ? 200 : answer.status;
    std::size_t count = 0;
    for (const HeadField& field : question.fields) {
        if (++count > 64)
            break;
        answer.set_header(printable(field.name, true), printable(field.value, false));
    }
    if ((control & 0x08) != 0)
        answer.set_header("X-Auth-Tenant", "acme_corp");
    if (status != 200)
        answer.set_content(R"({"error":"denied"})", "application/json");

    AuthSummary summary;
    summary.decided = (control & 0x10) != 0;
    summary.code = status == 200   ? DecisionCode::ok
                   : status == 401 ? DecisionCode::missing_key
                   : status == 429 ? DecisionCode::rate_limited
                                   : DecisionCode::key_disabled;
    if ((control & 0x80) != 0) {
        summary.key_id = "acme-bi";
        summary.role = "viewer";
        summary.tenant = "acme_corp";
    }
    summary.key_header = "X-API-Key";
    summary.bearer_holds_key = (control & 0x20) != 0;
    summary.query_holds_key = (control & 0x40) != 0;

    std::string wire;
    write_check_response(answer, summary, question, wire);
    CheckResponse response;
    FUZZ_CHECK(response.ParseFromString(wire));
    FUZZ_CHECK(response.status().code() == static_cast<int>(rpc_code_for_status(status)));

    if (status == 200) {
        FUZZ_CHECK(response.has_ok_response() && !response.has_denied_response());
        const auto& ok = response.ok_response();
        int set = 0;
        int added = 0;
        for (const http::ResponseField& field : answer.headers) {
            if (is_x_auth(field.name)) {
                FUZZ_CHECK(set < ok.headers_size());
                check_header_option(ok.headers(set++), field);
            } else {
                FUZZ_CHECK(added < ok.response_headers_to_add_size());
                check_header_option(ok.response_headers_to_add(added++), field);
            }
        }
        FUZZ_CHECK(set == ok.headers_size() && added == ok.response_headers_to_add_size());
        const std::set<std::string> removed(ok.headers_to_remove().begin(),
                                            ok.headers_to_remove().end());
        FUZZ_CHECK(removed.size() == static_cast<std::size_t>(ok.headers_to_remove_size()));
        FUZZ_CHECK(ok.headers_to_remove_size() > 0 && ok.headers_to_remove(0) == "x-api-key");
        for (const std::string& name : removed)
            FUZZ_CHECK(name == lower(name));
        std::set<std::string> ours;
        for (const http::ResponseField& field : answer.headers)
            ours.insert(lower(field.name));
        std::set<std::string> expected = {"x-api-key"};
        if (summary.bearer_holds_key)
            expected.insert("authorization");
        for (const HeadField& field : question.fields) {
            if (is_x_auth(field.name) && ours.count(lower(field.name)) == 0)
                expected.insert(lower(field.name));
        }
        FUZZ_CHECK(removed == expected);
        if (!summary.query_holds_key) {
            FUZZ_CHECK(ok.query_parameters_to_remove_size() == 0);
        } else {
            const std::set<std::string> names = query_names(question.target.uri);
            const std::set<std::string> dropped(ok.query_parameters_to_remove().begin(),
                                                ok.query_parameters_to_remove().end());
            FUZZ_CHECK(dropped.size() ==
                       static_cast<std::size_t>(ok.query_parameters_to_remove_size()));
            for (const std::string& name : dropped)
                FUZZ_CHECK(names.count(name) == 1);
        }
    } else {
        FUZZ_CHECK(response.has_denied_response() && !response.has_ok_response());
        const auto& denied = response.denied_response();
        FUZZ_CHECK(static_cast<int>(denied.status().code()) == status);
        int index = 0;
        for (const http::ResponseField& field : answer.headers) {
            FUZZ_CHECK(index < denied.headers_size());
            check_header_option(denied.headers(index++), field);
        }
        FUZZ_CHECK(index == denied.headers_size());
        FUZZ_CHECK(denied.body() == answer.body);
    }

    FUZZ_CHECK(response.has_dynamic_metadata() == summary.decided);
    if (summary.decided) {
        const auto& metadata = response.dynamic_metadata().fields();
        FUZZ_CHECK(metadata.at("code").string_value() == code_name(summary.code));
        FUZZ_CHECK(metadata.count("key_id") == (summary.key_id.empty() ? 0U : 1U));
        FUZZ_CHECK(metadata.size() == (summary.key_id.empty() ? 1U : 4U));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // protobuf logs every string that is not UTF-8 it refuses: millions of lines here.
    static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
    (void)quiet;
    if (size == 0)
        return 0;
    const std::uint8_t control = data[0];
    const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

    CheckRequest reference;
    const bool protobuf_takes =
        reference.ParseFromArray(wire.data(), static_cast<int>(wire.size()));
    CheckQuestion question;
    const bool keygate_takes = read_check_request(wire, question);
    if (protobuf_takes) {
        FUZZ_CHECK(keygate_takes);
        check_reading(reference, question);
    }
    if (keygate_takes && protobuf_takes)
        check_writing(control, question);
    // Reading again into the same question (storage reused from call to call) reads the same.
    if (keygate_takes) {
        const std::vector<HeadField> first = question.fields;
        FUZZ_CHECK(read_check_request(wire, question));
        FUZZ_CHECK(question.fields.size() == first.size());
        for (std::size_t i = 0; i < first.size(); ++i)
            FUZZ_CHECK(question.fields[i].name == first[i].name &&
                       question.fields[i].value == first[i].value);
    }
    return 0;
}
