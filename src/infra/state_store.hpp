#pragma once
// State that must survive a restart when KEYGATE_STATE_DIR is set: automatic grace windows
// (digests only, never a plaintext key) and usage totals. Written atomically: a temp file in
// the same directory, fsync, rename.
#include "core/key_store.hpp"
#include "infra/usage_tracker.hpp"

#include <string>
#include <vector>

namespace keygate {

/// Everything keygate persists.
struct PersistentState {
    std::vector<GraceSecret> grace;          ///< automatic grace windows still open
    std::vector<UsageTracker::Totals> usage; ///< per-key totals and last_used
};

/// Reads and writes the state file `state.json` in one directory. Thread-safe for distinct
/// instances; one instance is used by one thread at a time.
class StateStore {
  public:
    /// Uses `directory` (created if missing).
    explicit StateStore(std::string directory);

    /// Writes the state atomically. Returns false with `error` set on failure; the previous
    /// file is then untouched.
    bool save(const PersistentState& state, std::string& error) const;

    /// Reads the state; a missing file is an empty state, a corrupt one an error (the caller
    /// starts empty and says so).
    bool load(PersistentState& state, std::string& error) const;

    /// The state file's path.
    std::string file_path() const;

  private:
    std::string directory_;
};

} // namespace keygate
