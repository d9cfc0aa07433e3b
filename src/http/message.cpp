// Request and Response.
#include "http/message.hpp"

#include "http/ascii.hpp"

#include <algorithm>

namespace keygate::http {
namespace {

bool has_cr_or_lf(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return c == '\r' || c == '\n'; });
}

} // namespace

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

void Response::set_header(std::string_view name, std::string value) {
    if (has_cr_or_lf(name) || has_cr_or_lf(value))
        return;
    if (headers.empty())
        headers.reserve(16); // a decision sets about a dozen: one allocation
    headers.push_back({std::string(name), std::move(value)});
}

void Response::set_content(std::string content, std::string_view content_type) {
    body = std::move(content);
    remove_header("Content-Type");
    set_header("Content-Type", std::string(content_type));
}

void Response::remove_header(std::string_view name) {
    std::erase_if(headers,
                  [&](const ResponseField& field) { return ascii_iequals(field.name, name); });
}

std::string Response::get_header_value(std::string_view name, std::size_t index) const {
    for (const ResponseField& field : headers) {
        if (ascii_iequals(field.name, name) && index-- == 0)
            return field.value;
    }
    return {};
}

bool Response::has_header(std::string_view name) const {
    return get_header_value_count(name) > 0;
}

std::size_t Response::get_header_value_count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [&](const ResponseField& field) { return ascii_iequals(field.name, name); }));
}

} // namespace keygate::http
