#pragma once
// The Host field's grammar (RFC 9112 3.2: Host = uri-host [ ":" port ], RFC 3986 3.2.2).
#include <string_view>

namespace keygate {

/// True when `value` (already stripped of surrounding whitespace) is a valid Host field
/// value: empty, or a reg-name (unreserved, sub-delims, %HH; an IPv4 address is one too) or
/// a bracketed IP literal (IPv6 or IPvFuture), then optionally ':' and digits.
bool valid_host_value(std::string_view value);

} // namespace keygate
