// Writing audit lines to a descriptor without tearing any.
#include "infra/audit_output.hpp"

#include <cerrno>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace keygate {

AuditOutput::AuditOutput(AuditWriteCall call, AuditOutputHooks hooks)
    : call_(std::move(call)), hooks_(std::move(hooks)) {
    if (!call_) {
        call_ = [](int fd, const char* data, std::size_t size) {
            return static_cast<long>(::write(fd, data, size));
        };
    }
}

AuditOutput::~AuditOutput() {
    if (owns_fd_ && fd_ >= 0)
        ::close(fd_);
}

AuditWriteResult AuditOutput::attach(int fd, bool owns) {
    AuditWriteResult result = close();
    fd_ = fd;
    owns_fd_ = owns;
    return result;
}

AuditWriteResult AuditOutput::close() {
    AuditWriteResult result;
    if (mid_line() && fd_ >= 0)
        result = write({});
    if (mid_line()) {
        ++result.lost;
        rest_.clear();
    }
    if (owns_fd_ && fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    owns_fd_ = false;
    cut_at_ = -1;
    return result;
}

bool AuditOutput::cut_still_last() const {
    if (cut_at_ < 0)
        return true; // a pipe, a terminal, a socket: nothing else writes there
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
        return true; // let the write itself report the problem
    return static_cast<long long>(st.st_size) == cut_at_;
}

void AuditOutput::note_cut() {
    struct stat st {};
    cut_at_ =
        ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<long long>(st.st_size) : -1;
}

int AuditOutput::write_all(std::string_view buffer, std::size_t& done) {
    while (done < buffer.size()) {
        if (hooks_.given_up && hooks_.given_up())
            return ECANCELED;
        if (hooks_.waiting)
            hooks_.waiting();
        const long n = call_(fd_, buffer.data() + done, buffer.size() - done);
        const int error = n < 0 ? errno : 0;
        if (n < 0 && error == EINTR)
            continue;
        if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
            // A non-blocking descriptor (inherited that way): wait for room rather than lose
            // lines. The time spent here counts as blocked.
            pollfd p{fd_, POLLOUT, 0};
            (void)::poll(&p, 1, 1000);
            continue;
        }
        if (hooks_.progressed)
            hooks_.progressed();
        if (n <= 0)
            return n < 0 ? error : EIO;
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

AuditWriteResult AuditOutput::write(const std::deque<std::string>& lines) {
    AuditWriteResult result;
    if (mid_line() && !cut_still_last()) {
        // The file was truncated or written by someone else: the fragment is no longer ours
        // to finish.
        ++result.lost;
        rest_.clear();
        cut_at_ = -1;
    }
    // The buffer is the rest of the cut line (if any) followed by the new lines; `ends`
    // holds where each of them ends.
    std::string buffer = std::move(rest_);
    rest_.clear();
    const bool had_rest = !buffer.empty();
    std::size_t total = buffer.size();
    for (const auto& line : lines)
        total += line.size() + 1;
    buffer.reserve(total);
    std::deque<std::size_t> ends;
    if (had_rest)
        ends.push_back(buffer.size());
    for (const auto& line : lines) {
        buffer += line;
        buffer += '\n';
        ends.push_back(buffer.size());
    }
    std::size_t done = 0;
    result.error = write_all(buffer, done);
    std::size_t begin = 0;
    for (std::size_t i = 0; i < ends.size(); ++i) {
        const std::size_t end = ends[i];
        if (end <= done) {
            ++result.written;
        } else if (begin < done || (i == 0 && had_rest)) {
            // Cut here: keep the rest, so that this record is finished before anything else.
            rest_.assign(buffer, done, end - done);
        } else {
            ++result.lost;
        }
        begin = end;
    }
    if (mid_line())
        note_cut();
    return result;
}

} // namespace keygate
