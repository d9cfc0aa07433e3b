#pragma once
// Masking of presented keys for logs and audit lines (CONTRACT §7).
#include <string>
#include <string_view>

namespace keygate {

/// "pk_acme_abc123" -> "pk_acme_***"; no '_': the first 4 characters + "***"; shorter than
/// 12 characters: "***". Control and non-ASCII bytes of the kept prefix become '?'.
std::string mask_key(std::string_view key);

} // namespace keygate
