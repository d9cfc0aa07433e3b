#pragma once
// The audit writer's descriptor: writes batches of lines with write(2) and never lets a line
// be torn. When a write stops partway through a line (ENOSPC, EIO, EPIPE, ...), the rest of
// that line is kept and written first the next time, before any other line: the record then
// ends up whole once the destination takes writes again, and the next line starts on a line
// of its own. A line cut on a descriptor that is then given up (reopen after rotation,
// shutdown) or on a regular file that changed meanwhile (truncated, or appended to by
// someone else) cannot be completed: it is abandoned and counted as lost, and nothing more
// is written after its fragment.
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

namespace keygate {

/// The write(2) an AuditOutput calls: same contract (bytes written, or -1 with errno).
/// Tests pass one that fails partway.
using AuditWriteCall = std::function<long(int fd, const char* data, std::size_t size)>;

/// What a write to the destination did.
struct AuditWriteResult {
    std::size_t written = 0; ///< lines now whole in the destination (a completed cut line too)
    std::size_t lost = 0;    ///< lines that will never be written
    int error = 0;           ///< errno of a failed write, 0 if nothing failed
};

/// Told when the output starts waiting for the destination and when it took bytes (or failed).
struct AuditOutputHooks {
    std::function<void()> waiting;    ///< before each write(2)
    std::function<void()> progressed; ///< after it returned (bytes taken, or an error)
    /// True once the destination is given up (a shutdown that cannot wait any longer):
    /// checked before each write(2), so a write interrupted by a signal (EINTR, or a part
    /// written) then fails with ECANCELED instead of waiting again.
    std::function<bool()> given_up;
};

/// One destination descriptor and the line cut on it, if any. Not thread-safe: the writer
/// thread owns it.
class AuditOutput {
  public:
    /// An empty `call` means ::write.
    explicit AuditOutput(AuditWriteCall call = {}, AuditOutputHooks hooks = {});
    ~AuditOutput();
    AuditOutput(const AuditOutput&) = delete;
    AuditOutput& operator=(const AuditOutput&) = delete;

    /// Writes to `fd` from now on, closing the previous descriptor when it was owned. A line
    /// cut on the previous descriptor gets one last try there, else is abandoned (lost).
    AuditWriteResult attach(int fd, bool owns);

    /// Gives the descriptor up, after one last try at a cut line.
    AuditWriteResult close();

    /// Writes `lines` (each without its newline) after the rest of a cut line. On a failure
    /// the lines after the cut one are lost; the cut one is kept for the next write.
    AuditWriteResult write(const std::deque<std::string>& lines);

    /// A line is cut: the destination ends mid-line.
    bool mid_line() const { return !rest_.empty(); }

  private:
    /// Writes `buffer` from `done` on; returns 0 or the errno of the failure.
    int write_all(std::string_view buffer, std::size_t& done);
    /// Whether the destination still ends where the cut line was left.
    bool cut_still_last() const;
    /// Records where the destination ends after a cut.
    void note_cut();

    AuditWriteCall call_;
    AuditOutputHooks hooks_;
    int fd_ = -1;
    bool owns_fd_ = false;
    std::string rest_;      ///< the unwritten end of the cut line, its newline included
    long long cut_at_ = -1; ///< size of the regular file after the cut, -1 if not a file
};

} // namespace keygate
