// Request and Response.
#include "http/message.hpp"

#include "http/ascii.hpp"

#include <algorithm>

namespace keygate::http {
Request::Request(const Request& other)
    : method(other.method), target(other.target), version(other.version), path(other.path),
      body(other.body), remote_addr(other.remote_addr), remote_port(other.remote_port),
      storage_(other.storage_), fields_(other.fields_) {
    rebase(other.storage_.data());
}

Request::Request(Request&& other) noexcept
    : method(std::move(other.method)), target(std::move(other.target)),
      version(std::move(other.version)), path(std::move(other.path)), body(std::move(other.body)),
      remote_addr(std::move(other.remote_addr)), remote_port(other.remote_port),
      fields_(std::move(other.fields_)) {
    const char* old_base = other.storage_.data();
    storage_ = std::move(other.storage_);
    rebase(old_base);
    other.storage_.clear();
    other.fields_.clear();
}

Request& Request::operator=(const Request& other) {
    if (this != &other) {
        Request copy(other);
        *this = std::move(copy);
    }
    return *this;
}

Request& Request::operator=(Request&& other) noexcept {
    if (this != &other) {
        method = std::move(other.method);
        target = std::move(other.target);
        version = std::move(other.version);
        path = std::move(other.path);
        body = std::move(other.body);
        remote_addr = std::move(other.remote_addr);
        remote_port = other.remote_port;
        fields_ = std::move(other.fields_);
        const char* old_base = other.storage_.data();
        storage_ = std::move(other.storage_);
        rebase(old_base);
        other.storage_.clear();
        other.fields_.clear();
    }
    return *this;
}

void Request::rebase(const char* old_base) {
    const char* new_base = storage_.data();
    if (old_base == new_base)
        return;
    const auto moved = [&](std::string_view view) {
        return std::string_view(new_base + (view.data() - old_base), view.size());
    };
    for (HeadField& field : fields_) {
        field.name = moved(field.name);
        field.value = moved(field.value);
    }
}

void Request::set_head(std::string_view bytes, const RequestHead& head) {
    method.assign(head.method);
    target.assign(head.target);
    version.assign(head.version);
    path.assign(target, 0, target.find('?'));
    storage_.assign(bytes.data(), head.length);
    fields_.clear();
    fields_.reserve(head.fields.size());
    const char* base = storage_.data();
    const auto here = [&](std::string_view view) {
        return std::string_view(base + (view.data() - bytes.data()), view.size());
    };
    for (const HeadField& field : head.fields) {
        if (!field.value.empty())
            fields_.push_back({here(field.name), here(field.value)});
    }
}

void Request::clear() {
    constexpr std::size_t k_kept_capacity = 4096;
    for (std::string* text : {&method, &target, &version, &path, &body, &storage_}) {
        text->clear();
        if (text->capacity() > k_kept_capacity)
            text->shrink_to_fit();
    }
    remote_addr.clear();
    remote_port = 0;
    fields_.clear();
}

void Request::add_header(std::string_view name, std::string_view value) {
    if (value.empty())
        return;
    const char* old_base = storage_.data();
    const std::size_t name_at = storage_.size();
    storage_.append(name);
    const std::size_t value_at = storage_.size();
    storage_.append(value);
    rebase(old_base);
    fields_.push_back({std::string_view(storage_).substr(name_at, name.size()),
                       std::string_view(storage_).substr(value_at, value.size())});
}

std::string_view Request::header(std::string_view name) const {
    for (const HeadField& field : fields_) {
        if (ascii_iequals(field.name, name))
            return field.value;
    }
    return {};
}

bool Request::has_header(std::string_view name) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const HeadField& field) { return ascii_iequals(field.name, name); });
}

void ResponseHeaders::iterator::read() {
    const auto colon = rest_.find(':');
    if (rest_.empty() || colon == std::string_view::npos) {
        line_start_ = nullptr;
        field_ = {};
        return;
    }
    // set_header() wrote "name: value\r\n" with no ':' in the name and no CR in the value.
    line_start_ = rest_.data();
    const auto end = rest_.find('\r', colon);
    field_.name = rest_.substr(0, colon);
    field_.value = rest_.substr(colon + 2, end - colon - 2);
    rest_.remove_prefix(end + 2);
}

namespace {

/// True for a name the front end writes itself (the writer leaves a handler's out).
bool framing_name(std::string_view name) {
    switch (name.size()) {
    case 10:
        return ascii_iequals(name, "Connection") || ascii_iequals(name, "Keep-Alive");
    case 14:
        return ascii_iequals(name, "Content-Length");
    case 17:
        return ascii_iequals(name, "Transfer-Encoding");
    default:
        return false;
    }
}

/// No byte that could end or split a header line (CR, LF, NUL), nor a ':' in a name.
/// Eight bytes at a time: this runs over every header of every answer.
bool safe_text(std::string_view text, bool name) {
    const char* p = text.data();
    std::size_t n = text.size();
    for (; n >= 8; p += 8, n -= 8) {
        const std::uint64_t word = load_word(p);
        if ((word_has_byte(word, '\r') | word_has_byte(word, '\n') | word_has_byte(word, '\0') |
             (name ? word_has_byte(word, ':') : 0)) != 0) {
            return false;
        }
    }
    for (; n > 0; ++p, --n) {
        if (*p == '\r' || *p == '\n' || *p == '\0' || (name && *p == ':'))
            return false;
    }
    return true;
}

} // namespace

void Response::set_header(std::string_view name, std::string_view value) {
    if (name.empty() || !safe_text(name, true) || !safe_text(value, false)) {
        return;
    }
    std::string& block = headers.block_;
    if (block.capacity() < 512)
        block.reserve(512); // a decision's dozen headers: one allocation, kept per connection
    // One resize, then the line's four pieces copied in place.
    const std::size_t at = block.size();
    block.resize(at + name.size() + value.size() + 4);
    char* out = block.data() + at;
    std::memcpy(out, name.data(), name.size());
    out += name.size();
    *out++ = ':';
    *out++ = ' ';
    if (!value.empty())
        std::memcpy(out, value.data(), value.size());
    out += value.size();
    *out++ = '\r';
    *out = '\n';
    ++headers.count_;
    headers.framing_ = headers.framing_ || framing_name(name);
    headers.content_type_ =
        headers.content_type_ || (name.size() == 12 && ascii_iequals(name, "Content-Type"));
}

void Response::set_content(std::string content, std::string_view content_type) {
    body = std::move(content);
    if (headers.content_type_)
        remove_header("Content-Type");
    set_header("Content-Type", content_type);
}

void Response::remove_header(std::string_view name) {
    std::string kept;
    std::size_t count = 0;
    bool framing = false;
    bool content_type = false;
    for (const auto& [field_name, value] : headers) {
        if (ascii_iequals(field_name, name))
            continue;
        kept.append(field_name).append(": ").append(value).append("\r\n");
        ++count;
        framing = framing || framing_name(field_name);
        content_type = content_type || ascii_iequals(field_name, "Content-Type");
    }
    headers.block_ = std::move(kept);
    headers.count_ = count;
    headers.framing_ = framing;
    headers.content_type_ = content_type;
}

std::string Response::get_header_value(std::string_view name, std::size_t index) const {
    for (const auto& [field_name, value] : headers) {
        if (ascii_iequals(field_name, name) && index-- == 0)
            return std::string(value);
    }
    return {};
}

bool Response::has_header(std::string_view name) const {
    return get_header_value_count(name) > 0;
}

std::size_t Response::get_header_value_count(std::string_view name) const {
    std::size_t count = 0;
    for (const auto& [field_name, value] : headers)
        count += ascii_iequals(field_name, name) ? 1 : 0;
    return count;
}

} // namespace keygate::http
