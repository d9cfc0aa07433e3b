// The protocol buffers wire format: a reader and a writer.
#include "grpc/proto_wire.hpp"

namespace keygate::wire {

bool Reader::fail() {
    failed_ = true;
    at_ = end_;
    return false;
}

bool Reader::read_varint(std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (at_ == end_)
            return fail();
        const auto byte = static_cast<std::uint8_t>(*at_++);
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            return true;
    }
    return fail(); // a tenth byte that says more follow
}

bool Reader::read_tag(std::uint32_t& number, WireType& type) {
    // As protobuf reads a tag: a varint of at most five bytes kept to 32 bits, so a fifth
    // byte's high bits are dropped (c8 c7 c7 ce 38 is field 289029241, not a refusal).
    std::uint32_t tag = 0;
    for (int shift = 0;; shift += 7) {
        if (shift == 35 || at_ == end_)
            return fail(); // a sixth byte, or the message ends inside the tag
        const auto byte = static_cast<std::uint8_t>(*at_++);
        tag |= static_cast<std::uint32_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            break;
    }
    const std::uint32_t field_number = tag >> 3;
    const auto wire_type = static_cast<std::uint8_t>(tag & 7);
    if (field_number == 0 || wire_type > 5)
        return fail();
    number = field_number;
    type = static_cast<WireType>(wire_type);
    return true;
}

bool Reader::next_field(Field& field) {
    while (at_ != end_) {
        if (!read_tag(field.number, field.type))
            return false;
        field.varint = 0;
        field.bytes = {};
        switch (field.type) {
        case WireType::varint:
            return read_varint(field.varint);
        case WireType::fixed64:
        case WireType::fixed32: {
            const std::size_t size = field.type == WireType::fixed64 ? 8 : 4;
            if (static_cast<std::size_t>(end_ - at_) < size)
                return fail();
            field.bytes = {at_, size};
            at_ += size;
            return true;
        }
        case WireType::length_delimited: {
            std::uint64_t size = 0;
            if (!read_varint(size))
                return false;
            if (size > static_cast<std::uint64_t>(end_ - at_))
                return fail();
            field.bytes = {at_, static_cast<std::size_t>(size)};
            at_ += size;
            return true;
        }
        case WireType::start_group:
            if (!skip_group(field.number))
                return false;
            continue; // a group is nobody's field here: the next one
        case WireType::end_group:
            return fail(); // no group is open at a message's own level
        }
    }
    return false;
}

bool Reader::skip_group(std::uint32_t number) {
    // The open groups' numbers, innermost last: each must close with its own number.
    std::uint32_t open[k_max_group_depth];
    int depth = 0;
    open[depth++] = number;
    while (depth > 0) {
        std::uint32_t field_number = 0;
        WireType type = WireType::varint;
        if (!read_tag(field_number, type))
            return false;
        std::uint64_t value = 0;
        switch (type) {
        case WireType::varint:
            if (!read_varint(value))
                return false;
            break;
        case WireType::fixed64:
        case WireType::fixed32: {
            const std::size_t size = type == WireType::fixed64 ? 8 : 4;
            if (static_cast<std::size_t>(end_ - at_) < size)
                return fail();
            at_ += size;
            break;
        }
        case WireType::length_delimited:
            if (!read_varint(value))
                return false;
            if (value > static_cast<std::uint64_t>(end_ - at_))
                return fail();
            at_ += value;
            break;
        case WireType::start_group:
            if (depth == k_max_group_depth)
                return fail();
            open[depth++] = field_number;
            break;
        case WireType::end_group:
            if (open[--depth] != field_number)
                return fail();
            break;
        }
    }
    return true;
}

} // namespace keygate::wire
