#pragma once
// Header fields for tests, written as {{"Name", "value"}, ...} in arrival order, and the
// http::Request that carries them (as the front end builds it: empty values left out).
#include "http/message.hpp"

#include <string>
#include <utility>
#include <vector>

namespace keygate::test {

/// Header fields in arrival order.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A request with `fields` as its headers.
inline http::Request request_with(const HeaderList& fields) {
    http::Request request;
    for (const auto& [name, value] : fields)
        request.add_header(name, value);
    return request;
}

} // namespace keygate::test
