#pragma once
// The protocol buffers wire format (protobuf.dev/programming-guides/encoding), read and
// written directly for the one gRPC method on the hot path, Authorization/Check: reading
// only the fields a decision needs and writing the response's bytes costs a fraction of
// building protobuf's message objects (bench/README.md, `grpc`). Read as protobuf's own
// parser reads: fields in any order, unknown fields (any wire type, groups too) skipped,
// a field with a wire type other than its declared one treated as unknown, and anything
// malformed (a truncated field, a varint over 10 bytes, field number 0, an unbalanced or
// too deeply nested group) refused as a whole.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keygate::wire {

/// The wire types of a field's tag.
enum class WireType : std::uint8_t {
    varint = 0,
    fixed64 = 1,
    length_delimited = 2, ///< strings, bytes, nested messages, packed repeated fields
    start_group = 3,
    end_group = 4,
    fixed32 = 5,
};

/// One field of a message as read from the wire.
struct Field {
    std::uint32_t number = 0;
    WireType type = WireType::varint;
    std::uint64_t varint = 0; ///< the value of a varint field
    std::string_view bytes;   ///< the payload of a length-delimited field (a view into the message)
};

/// Nested groups deeper than this are refused (protobuf's default recursion limit).
inline constexpr int k_max_group_depth = 100;

/// Reads the fields of one message in order: `while (reader.next(field)) { ... }`, then
/// `failed()` tells a malformed message from its end. Groups are skipped, never returned.
class Reader {
  public:
    /// A reader of `message`, which must outlive the views the fields give.
    explicit Reader(std::string_view message)
        : at_(message.data()), end_(message.data() + message.size()) {}

    /// The next field, skipping groups; false at the end of the message or when the bytes
    /// are malformed (failed() is then true, and every later next() is false).
    bool next(Field& field) {
        // Most fields of a CheckRequest: a one-byte tag of a length-delimited field (numbers
        // 1 to 15) and a one-byte length. The same reading as next_field(), inline.
        if (end_ - at_ >= 2) {
            const auto tag = static_cast<std::uint8_t>(at_[0]);
            const auto size = static_cast<std::uint8_t>(at_[1]);
            if (tag < 0x80 && (tag & 7) == 2 && (tag >> 3) != 0 && size < 0x80 &&
                size <= end_ - at_ - 2) {
                field.number = tag >> 3;
                field.type = WireType::length_delimited;
                field.varint = 0;
                field.bytes = {at_ + 2, size};
                at_ += 2 + size;
                return true;
            }
        }
        return next_field(field);
    }

    /// True once malformed bytes were met.
    bool failed() const { return failed_; }

  private:
    /// next() for every field.
    bool next_field(Field& field);
    bool read_varint(std::uint64_t& value);
    bool read_tag(std::uint32_t& number, WireType& type);
    bool skip_group(std::uint32_t number);
    bool fail();

    const char* at_;
    const char* end_;
    bool failed_ = false;
};

/// Appends fields to `out` in the order they are written, with exact (shortest) lengths.
/// Any order of fields is valid protobuf; protobuf's own serializer writes them in
/// field-number order, and the CheckResponse writer interleaves two repeated fields.
/// Scalars and strings are written as given: leaving out proto3 defaults (0, "") is the
/// caller's choice. Inline: a CheckResponse is a few dozen small fields, and a call per byte
/// would cost more than the bytes.
class Writer {
  public:
    /// A writer appending to `out`.
    explicit Writer(std::string& out) : out_(out) {}

    /// A varint field.
    void varint(std::uint32_t number, std::uint64_t value) {
        char buffer[2 * k_max_varint];
        std::size_t size = put_varint(buffer, tag_of(number, WireType::varint));
        size += put_varint(buffer + size, value);
        out_.append(buffer, size);
    }

    /// A length-delimited field: a string, bytes, or a nested message already encoded.
    void bytes(std::uint32_t number, std::string_view value) {
        char buffer[2 * k_max_varint];
        std::size_t size = put_varint(buffer, tag_of(number, WireType::length_delimited));
        size += put_varint(buffer + size, value.size());
        out_.append(buffer, size);
        out_.append(value);
    }

    /// Opens a nested message field: write its fields, then close() with what this returns.
    std::size_t open(std::uint32_t number) {
        char buffer[k_max_varint + 1];
        std::size_t size = put_varint(buffer, tag_of(number, WireType::length_delimited));
        buffer[size++] = '\0'; // one byte for the length: most nested messages are under 128
        out_.append(buffer, size);
        return out_.size();
    }

    /// Closes the nested message opened at `mark`, writing its length in front of it.
    void close(std::size_t mark) {
        const std::size_t length = out_.size() - mark;
        if (length < 0x80) {
            out_[mark - 1] = static_cast<char>(length);
            return;
        }
        char buffer[k_max_varint];
        const std::size_t size = put_varint(buffer, length);
        out_.insert(mark, size - 1, '\0'); // a longer length: move the message up
        out_.replace(mark - 1, size, buffer, size);
    }

    /// Appends `size` bytes for the caller to fill, and returns where they start: for a
    /// field whose exact size the caller has computed (varint_size()) and writes with
    /// put_varint() and copies, in one step instead of one append per part.
    char* extend(std::size_t size) {
        const std::size_t at = out_.size();
        out_.resize(at + size);
        return out_.data() + at;
    }

    /// The most bytes a varint takes.
    static constexpr std::size_t k_max_varint = 10;

    /// The tag of field `number` with wire type `type`, as a varint writes it.
    static constexpr std::uint64_t tag_of(std::uint32_t number, WireType type) {
        return (static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint8_t>(type);
    }

    /// How many bytes the varint of `value` takes.
    static constexpr std::size_t varint_size(std::uint64_t value) {
        std::size_t size = 1;
        while (value >= 0x80) {
            value >>= 7;
            ++size;
        }
        return size;
    }

    /// Writes `value` as a varint at `to`; returns its size.
    static std::size_t put_varint(char* to, std::uint64_t value) {
        std::size_t size = 0;
        while (value >= 0x80) {
            to[size++] = static_cast<char>((value & 0x7f) | 0x80);
            value >>= 7;
        }
        to[size++] = static_cast<char>(value);
        return size;
    }

  private:
    std::string& out_;
};

} // namespace keygate::wire
