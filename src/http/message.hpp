#pragma once
// The request a handler reads and the response it writes: keygate's own types, flat and
// cheap (no per-header allocation, no case-insensitive tree). The front end fills a Request
// from the head the strict parser read (head_parser.hpp); write_response() puts a Response
// on the wire (response_writer.hpp).
#include "http/head_parser.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::http {

/// A request read whole: request line, header fields as they arrived, body.
class Request {
  public:
    std::string method;      ///< the request line's method, as sent
    std::string target;      ///< the raw request target, never decoded
    std::string version;     ///< "HTTP/1.1"
    std::string path;        ///< `target` up to its first '?' (raw, never decoded)
    std::string body;        ///< the body, chunked framing removed
    std::string remote_addr; ///< the peer's address as text ("127.0.0.1" for a unix socket)
    int remote_port = 0;     ///< the peer's port

    Request() = default;
    Request(const Request& other);
    Request(Request&& other) noexcept;
    Request& operator=(const Request& other);
    Request& operator=(Request&& other) noexcept;
    ~Request() = default;

    /// Sets the request line and the header fields from a head parsed out of `bytes`
    /// (views of `head` point into `bytes`); one copy of the bytes, fields with an empty
    /// value left out. `path` is the target up to '?'.
    void set_head(std::string_view bytes, const RequestHead& head);
    /// Empties the request for the next one on the connection; keeps a small buffer (no
    /// allocation per request), gives a large one back.
    void clear();
    /// Appends a header field (tests, and requests built by hand).
    void add_header(std::string_view name, std::string_view value);

    /// The header fields in arrival order (names as sent; empty values left out).
    std::span<const HeadField> fields() const { return fields_; }
    /// The first value of header `name` (ASCII case-insensitive); "" when absent.
    std::string_view header(std::string_view name) const;
    /// True when header `name` is present.
    bool has_header(std::string_view name) const;

  private:
    /// Points the fields' views at `storage_` again after it moved to a new buffer.
    void rebase(const char* old_base);

    std::string storage_;           ///< the bytes every field views into
    std::vector<HeadField> fields_; ///< views into storage_
};

/// One response header field: views into its Response's header block, valid until the
/// headers change.
struct ResponseField {
    std::string_view name;
    std::string_view value;
};

/// The header fields of a Response in the order set, kept as the "Name: value\r\n" lines
/// they are sent as, in one buffer: setting a header is one append, and write_response()
/// copies the block to the wire whole (no string pair per header, no second copy).
class ResponseHeaders {
  public:
    /// Walks the block's lines; yields each field by value.
    class iterator {
      public:
        using value_type = ResponseField;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(std::string_view rest) : rest_(rest) { read(); }
        ResponseField operator*() const { return field_; }
        iterator& operator++() {
            read();
            return *this;
        }
        iterator operator++(int) {
            iterator before = *this;
            read();
            return before;
        }
        bool operator==(const iterator& other) const { return line_start_ == other.line_start_; }

      private:
        /// Reads the next line of `rest_` into `field_` (line_start_ null at the end).
        void read();

        std::string_view rest_;
        const char* line_start_ = nullptr;
        ResponseField field_;
    };

    iterator begin() const { return iterator(block_); }
    iterator end() const { return iterator(); }
    /// True when no header is set.
    bool empty() const { return count_ == 0; }
    /// How many headers are set.
    std::size_t size() const { return count_; }
    /// Removes every header; keeps the buffer for the next response.
    void clear() {
        block_.clear();
        count_ = 0;
        framing_ = false;
        content_type_ = false;
    }
    /// The header lines as they go on the wire, each ending in CRLF.
    std::string_view block() const { return block_; }
    /// True when a handler set a header the front end owns (Connection, Keep-Alive,
    /// Content-Length, Transfer-Encoding): the writer must then leave those out.
    bool has_framing_field() const { return framing_; }

  private:
    friend struct Response;

    std::string block_;
    std::size_t count_ = 0;
    bool framing_ = false;      ///< a framing header is among them
    bool content_type_ = false; ///< a Content-Type header is among them
};

/// A response a handler writes. Headers are sent in the order they were set; the front
/// end adds the framing headers (Content-Length, Connection / Keep-Alive).
struct Response {
    int status = -1;         ///< -1 until a handler sets it
    ResponseHeaders headers; ///< in the order set
    std::string body;

    /// Appends a header; an empty name, a name holding ':', or a name or value holding CR,
    /// LF or NUL is dropped (never split a response).
    void set_header(std::string_view name, std::string_view value);
    /// Sets the body and replaces any Content-Type header with `content_type`.
    void set_content(std::string content, std::string_view content_type);
    /// Removes every header named `name` (ASCII case-insensitive).
    void remove_header(std::string_view name);
    /// The `index`th value of header `name` (ASCII case-insensitive); "" when absent.
    std::string get_header_value(std::string_view name, std::size_t index = 0) const;
    /// True when header `name` is set.
    bool has_header(std::string_view name) const;
    /// How many times header `name` is set.
    std::size_t get_header_value_count(std::string_view name) const;
    /// Back to a fresh response (status -1, no header, no body), keeping the buffers, so
    /// that a connection answers request after request without allocating.
    void clear() {
        status = -1;
        headers.clear();
        body.clear();
    }
};

} // namespace keygate::http
