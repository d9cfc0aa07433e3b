// CheckRequest bytes -> AuthQuestion, HTTP answer -> CheckResponse bytes. The field numbers
// are those of proto/ (Envoy's v3 API): each reader below says which message it reads.
#include "grpc/check_mapping.hpp"

#include "core/uri_reader.hpp"
#include "grpc/proto_wire.hpp"
#include "http/ascii.hpp"

#include <algorithm>
#include <unordered_set>

namespace keygate {
namespace {

using wire::Field;
using wire::WireType;

bool is_bytes(const Field& field) {
    return field.type == WireType::length_delimited;
}

/// The parts of a CheckRequest that are read besides the headers, as protobuf would hold
/// them after merging every occurrence of each message.
struct Parts {
    std::string_view method;
    std::string_view path;
    std::string_view body;
    std::string_view raw_body;
    bool socket_address = false; ///< the Address oneof holds a socket_address
    std::string_view address;    ///< its address
};

/// envoy.config.core.v3.SocketAddress: address = 2.
bool read_socket_address(std::string_view message, Parts& parts) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (field.number == 2 && is_bytes(field))
            parts.address = field.bytes;
    }
    return !reader.failed();
}

/// envoy.config.core.v3.Address: oneof socket_address = 1, pipe = 2,
/// envoy_internal_address = 3: the last member present wins.
bool read_address(std::string_view message, Parts& parts) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (!is_bytes(field))
            continue;
        if (field.number == 1) {
            if (!parts.socket_address)
                parts.address = {}; // another member was set: this one starts empty
            parts.socket_address = true;
            if (!read_socket_address(field.bytes, parts))
                return false;
        } else if (field.number == 2 || field.number == 3) {
            parts.socket_address = false;
            parts.address = {};
        }
    }
    return !reader.failed();
}

/// AttributeContext.Peer: address = 1.
bool read_peer(std::string_view message, Parts& parts) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (field.number == 1 && is_bytes(field) && !read_address(field.bytes, parts))
            return false;
    }
    return !reader.failed();
}

/// A map<string, string> entry (key = 1, value = 2) or, with `raw_value_field`, a HeaderValue
/// (key = 1, value = 2, raw_value = 3: raw_value wins when not empty). A map entry has no
/// field 3: protobuf drops one, and so does this.
bool read_pair(std::string_view message, HeadField& out, bool raw_value_field) {
    wire::Reader reader(message);
    Field field;
    std::string_view raw_value;
    while (reader.next(field)) {
        if (!is_bytes(field))
            continue;
        if (field.number == 1)
            out.name = field.bytes;
        else if (field.number == 2)
            out.value = field.bytes;
        else if (field.number == 3 && raw_value_field)
            raw_value = field.bytes;
    }
    if (!raw_value.empty())
        out.value = raw_value;
    return !reader.failed();
}

/// envoy.config.core.v3.HeaderMap: headers = 1, in order.
bool read_header_map(std::string_view message, std::vector<HeadField>& out) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (field.number != 1 || !is_bytes(field))
            continue;
        HeadField& header = out.emplace_back();
        if (!read_pair(field.bytes, header, /*raw_value_field=*/true))
            return false;
    }
    return !reader.failed();
}

/// AttributeContext.HttpRequest: method = 2, headers = 3 (map), path = 4, body = 11,
/// raw_body = 12, header_map = 13.
bool read_http(std::string_view message, Parts& parts, CheckQuestion& out) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (!is_bytes(field))
            continue;
        switch (field.number) {
        case 2:
            parts.method = field.bytes;
            break;
        case 3:
            if (!read_pair(field.bytes, out.fields.emplace_back(), /*raw_value_field=*/false))
                return false;
            break;
        case 4:
            parts.path = field.bytes;
            break;
        case 11:
            parts.body = field.bytes;
            break;
        case 12:
            parts.raw_body = field.bytes;
            break;
        case 13:
            if (!read_header_map(field.bytes, out.raw_fields))
                return false;
            break;
        default:
            break;
        }
    }
    return !reader.failed();
}

/// AttributeContext.Request: http = 2.
bool read_request(std::string_view message, Parts& parts, CheckQuestion& out) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (field.number == 2 && is_bytes(field) && !read_http(field.bytes, parts, out))
            return false;
    }
    return !reader.failed();
}

/// AttributeContext: source = 1, request = 4.
bool read_attributes(std::string_view message, Parts& parts, CheckQuestion& out) {
    wire::Reader reader(message);
    Field field;
    while (reader.next(field)) {
        if (!is_bytes(field))
            continue;
        if (field.number == 1 && !read_peer(field.bytes, parts))
            return false;
        if (field.number == 4 && !read_request(field.bytes, parts, out))
            return false;
    }
    return !reader.failed();
}

/// Up to this many map entries are sorted in place; more (20 000 headers are possible) by
/// std::stable_sort, whose time grows as n log n.
constexpr std::size_t k_few_entries = 32;

/// A map's entries sorted by name, one per name: the last one read, as protobuf keeps it.
void settle_map_entries(std::vector<HeadField>& entries) {
    const auto by_name = [](const HeadField& a, const HeadField& b) { return a.name < b.name; };
    if (entries.size() <= k_few_entries) {
        // Insertion sort, stable: a request's dozen headers without stable_sort's buffer.
        for (std::size_t i = 1; i < entries.size(); ++i) {
            const HeadField entry = entries[i];
            std::size_t j = i;
            for (; j > 0 && by_name(entry, entries[j - 1]); --j)
                entries[j] = entries[j - 1];
            entries[j] = entry;
        }
    } else {
        std::stable_sort(entries.begin(), entries.end(), by_name);
    }
    auto kept = entries.begin();
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        auto next = std::next(it);
        if (next != entries.end() && next->name == it->name)
            continue; // a later entry of the same name replaces this one
        *kept++ = *it;
    }
    entries.erase(kept, entries.end());
}

bool starts_with_lower(std::string_view text, std::string_view lower_prefix) {
    return text.size() >= lower_prefix.size() &&
           ascii_iequals(text.substr(0, lower_prefix.size()), lower_prefix);
}

/// Writes a string field and lower-cases what it wrote.
void write_lower(wire::Writer& writer, std::string& out, std::uint32_t number,
                 std::string_view text) {
    writer.bytes(number, text);
    for (std::size_t i = out.size() - text.size(); i < out.size(); ++i)
        out[i] = ascii_lower(out[i]);
}

/// A HeaderValueOption (header = 1: HeaderValue {key = 1, value = 2}; append = 2:
/// BoolValue false, which is an empty message): set the header, never append (a client's
/// own X-Auth-Tenant must not survive beside ours). Every Envoy version reads `append` first
/// when it is present; append_action stays at its default, as Envoy requires then. The name
/// lower case. Written in one step, its sizes computed first: a response has a dozen of these.
void write_set_header(wire::Writer& writer, std::uint32_t number,
                      const http::ResponseField& field) {
    using W = wire::Writer;
    constexpr char key_tag = W::tag_of(1, WireType::length_delimited);   // header, key
    constexpr char value_tag = W::tag_of(2, WireType::length_delimited); // value, append
    const std::size_t name = field.name.size();
    const std::size_t value = field.value.size();
    const std::size_t header =
        1 + W::varint_size(name) + name + (value == 0 ? 0 : 1 + W::varint_size(value) + value);
    const std::size_t option = 1 + W::varint_size(header) + header + 2;
    const std::uint64_t tag = W::tag_of(number, WireType::length_delimited);
    char* at = writer.extend(W::varint_size(tag) + W::varint_size(option) + option);
    at += W::put_varint(at, tag);
    at += W::put_varint(at, option);
    *at++ = key_tag; // header
    at += W::put_varint(at, header);
    *at++ = key_tag; // key
    at += W::put_varint(at, name);
    for (const char c : field.name)
        *at++ = ascii_lower(c);
    if (value != 0) {
        *at++ = value_tag;
        at += W::put_varint(at, value);
        at = std::copy(field.value.begin(), field.value.end(), at);
    }
    *at++ = value_tag; // append: an empty BoolValue
    *at = '\0';
}

/// A google.protobuf.Struct entry of `fields` (= 1): key = 1, value = 2 as a Value whose
/// string_value (= 3) is `value`.
void write_metadata(wire::Writer& writer, std::string_view name, std::string_view value) {
    const std::size_t entry = writer.open(1);
    writer.bytes(1, name);
    const std::size_t value_mark = writer.open(2);
    writer.bytes(3, value); // a oneof member: present even when empty
    writer.close(value_mark);
    writer.close(entry);
}

/// query_parameters_to_remove (= 8) for a key keygate took from the query of `uri`. Envoy
/// removes parameters by their raw name, splitting the query at '&' only and decoding
/// nothing, while keygate's URI reader also splits at ';' and decodes names (api%5Fkey is
/// api_key). So every '&'-parameter holding a part keygate reads as api_key is removed by its
/// own raw name: `api%5Fkey=K` by "api%5Fkey", `a=1;api_key=K` by "a" (the key is in its
/// value). Each name once.
void write_query_key_removals(wire::Writer& writer, std::string_view uri) {
    const auto question_mark = uri.find('?');
    if (question_mark == std::string_view::npos)
        return;
    std::string_view query = uri.substr(question_mark + 1);
    query = query.substr(0, query.find('#'));
    std::unordered_set<std::string_view> removed; // a long query may name many
    std::string name;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view parameter = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        bool holds_key = false;
        for (std::string_view rest = parameter; !rest.empty() && !holds_key;) {
            const auto semicolon = rest.find(';');
            const std::string_view part = rest.substr(0, semicolon);
            rest = semicolon == std::string_view::npos ? std::string_view{}
                                                       : rest.substr(semicolon + 1);
            holds_key = percent_decode_strict(part.substr(0, part.find('=')), true, name) &&
                        name == "api_key";
        }
        const std::string_view raw_name = parameter.substr(0, parameter.find('='));
        if (holds_key && removed.insert(raw_name).second)
            writer.bytes(8, raw_name);
    }
}

/// OkHttpResponse: headers = 2, headers_to_remove = 5, response_headers_to_add = 6,
/// query_parameters_to_remove = 8.
void write_ok_response(wire::Writer& writer, std::string& out, const http::Response& answer,
                       const AuthSummary& summary, const CheckQuestion& question) {
    // One walk over the answer's headers: `headers` and `response_headers_to_add` come
    // interleaved, which protobuf reads as two lists, each in its order.
    for (const http::ResponseField& field : answer.headers)
        write_set_header(writer, starts_with_lower(field.name, "x-auth-") ? 2 : 6, field);
    // The key never reaches the upstream, nor an X-Auth-* header keygate did not vouch for.
    // Each name once, lower case.
    std::vector<std::string_view> removed; // the key header and authorization
    auto remove = [&](std::string_view name) {
        for (std::string_view done : removed) {
            if (ascii_iequals(done, name))
                return;
        }
        removed.push_back(name);
        write_lower(writer, out, 5, name);
    };
    remove(summary.key_header);
    if (summary.bearer_holds_key)
        remove("authorization");
    // A client may send thousands of x-auth-* names (header_map keeps repeats): a set of
    // the names written, and the answer's own names read once, keep this linear.
    std::vector<std::string_view> ours;
    std::unordered_set<std::string> unvouched;
    for (const HeadField& field : question.fields) {
        if (!starts_with_lower(field.name, "x-auth-"))
            continue;
        if (ours.empty()) {
            for (const http::ResponseField& set : answer.headers)
                ours.push_back(set.name);
        }
        const auto same_name = [&](std::string_view name) {
            return ascii_iequals(name, field.name);
        };
        if (std::any_of(ours.begin(), ours.end(), same_name) ||
            std::any_of(removed.begin(), removed.end(), same_name))
            continue;
        std::string lower(field.name);
        for (char& c : lower)
            c = ascii_lower(c);
        if (unvouched.insert(lower).second)
            writer.bytes(5, lower);
    }
    if (summary.query_holds_key)
        write_query_key_removals(writer, question.target.uri);
}

/// DeniedHttpResponse: status = 1 (HttpStatus {code = 1}), headers = 2, body = 3.
void write_denied_response(wire::Writer& writer, const http::Response& answer, int status) {
    const std::size_t status_mark = writer.open(1);
    writer.varint(1, static_cast<std::uint64_t>(status));
    writer.close(status_mark);
    for (const http::ResponseField& field : answer.headers)
        write_set_header(writer, 2, field);
    if (!answer.body.empty())
        writer.bytes(3, answer.body);
}

} // namespace

AuthQuestion CheckQuestion::question() const {
    return AuthQuestion{fields, target, peer, body, DecisionEndpoint::grpc};
}

bool read_check_request(std::string_view wire, CheckQuestion& out) {
    out.fields.clear();
    out.raw_fields.clear();
    Parts parts;
    // CheckRequest: attributes = 1.
    wire::Reader reader(wire);
    Field field;
    while (reader.next(field)) {
        if (field.number == 1 && is_bytes(field) && !read_attributes(field.bytes, parts, out))
            return false;
    }
    if (reader.failed())
        return false;
    if (!out.raw_fields.empty()) {
        out.fields.swap(out.raw_fields); // raw headers, in order, win over the merged map
        out.raw_fields.clear();
    } else {
        settle_map_entries(out.fields);
    }
    out.target = original_from_check(parts.method, parts.path);
    out.peer = parts.socket_address ? parse_ip(parts.address).value_or(IpAddress{}) : IpAddress{};
    out.body = parts.body.empty() ? parts.raw_body : parts.body;
    return true;
}

RpcCode rpc_code_for_status(int http_status) {
    if (http_status == 200)
        return RpcCode::ok;
    if (http_status == 401)
        return RpcCode::unauthenticated;
    return RpcCode::permission_denied;
}

void write_check_response(const http::Response& answer, const AuthSummary& summary,
                          const CheckQuestion& question, std::string& out) {
    const int status = answer.status == -1 ? 200 : answer.status;
    const RpcCode code = rpc_code_for_status(status);
    wire::Writer writer(out);
    // CheckResponse: status = 1 (google.rpc.Status {code = 1, message = 2}),
    // denied_response = 2, ok_response = 3, dynamic_metadata = 4.
    const std::size_t status_mark = writer.open(1);
    if (code != RpcCode::ok) {
        writer.varint(1, static_cast<std::uint64_t>(code));
        const std::string error_code = answer.get_header_value("X-Auth-Error-Code");
        if (!error_code.empty())
            writer.bytes(2, error_code);
    }
    writer.close(status_mark);
    const std::size_t response_mark = writer.open(code == RpcCode::ok ? 3 : 2);
    if (code == RpcCode::ok)
        write_ok_response(writer, out, answer, summary, question);
    else
        write_denied_response(writer, answer, status);
    writer.close(response_mark);
    if (summary.decided) {
        // Struct: fields = 1, a map written in key order, as protobuf's deterministic output.
        const std::size_t metadata = writer.open(4);
        write_metadata(writer, "code", code_name(summary.code));
        if (!summary.key_id.empty()) {
            write_metadata(writer, "key_id", summary.key_id);
            write_metadata(writer, "role", summary.role);
            if (!summary.tenant.empty())
                write_metadata(writer, "tenant", summary.tenant);
        }
        writer.close(metadata);
    }
}

} // namespace keygate
