#pragma once
// A text-level edit of one `api_keys:` entry of a key file, for `keygate rotate --write`:
// everything outside the entry is kept byte for byte, comments included.
#include "core/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::cli {

/// One `previous_keys` item, already formatted.
struct PreviousKeyText {
    std::string key_hash;   ///< "sha256:<hex>" or "hmac-sha256:<hex>"
    std::string expires_at; ///< RFC 3339
};

/// What to change in the entry that starts at `entry_line`.
struct SecretRotation {
    int entry_line = 0;                ///< KeyEntry::line (1-based), as the loader reported it
    std::string new_key_hash;          ///< replaces the entry's `key:` or `key_hash:` line
    PreviousKeyText retired;           ///< appended to `previous_keys`
    std::vector<PreviousKeyText> kept; ///< the entry's current previous_keys, as loaded; used
                                       ///< only when a flow-style list must be rewritten
    std::optional<std::string> pin_id; ///< written as `id:` when the entry has no `id:` line
};

/// The edited file and where the entry now sits.
struct EditedKeyFile {
    std::string text;       ///< the whole new file
    std::string entry_text; ///< the edited entry's lines
    int first_line = 0;     ///< 1-based first line of the edited entry in `text`
};

/// Applies a rotation to the text of a key file. The entry must be a block mapping (a flow
/// entry `- {key: ...}` is refused). Rules, so that the result is predictable:
/// - the `key:`/`key_hash:` line (and its continuation lines) becomes one
///   `key_hash: "<new>"` line; a comment at the end of that line goes with it;
/// - a block `previous_keys:` list gets one more `- {key_hash: ..., expires_at: ...}` item
///   after its last one; a flow list (`[...]`) is rewritten as a block list from `kept`
///   (comments inside it are lost); no `previous_keys:` field: one is added at the entry's end;
/// - every other line of the entry, comment lines included, is kept as it was.
/// Line endings follow the entry's first line. Pure: no I/O.
Result<EditedKeyFile> apply_secret_rotation(std::string_view file_text,
                                            const SecretRotation& rotation);

} // namespace keygate::cli
