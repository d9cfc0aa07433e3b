// write temp + fsync + rename + fsync(dir).
#include "cli/cli_atomic_write.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace keygate::cli {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

/// Closes a descriptor and removes the temporary file unless released.
class TempFile {
  public:
    TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (fd_ >= 0)
            ::close(fd_);
        if (!path_.empty())
            ::unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    /// Closes the descriptor; false (errno set) when close reports a write error.
    bool close() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }
    /// The file was renamed into place: keep it.
    void release() { path_.clear(); }

  private:
    int fd_;
    std::string path_;
};

} // namespace

Result<void> write_file_atomically(const std::string& path, std::string_view content) {
    std::error_code ec;
    // Kubernetes mounts and many setups use a symlink: replace what it points to, so the
    // link itself survives.
    const std::filesystem::path target = std::filesystem::canonical(path, ec);
    if (ec)
        return fail("cannot resolve " + path + ": " + ec.message());
    struct stat original {};
    if (::stat(target.c_str(), &original) != 0) {
        return fail("cannot stat " + path + ": " + errno_text());
    }

    const std::filesystem::path directory = target.parent_path();
    std::string pattern = (directory / ("." + target.filename().string() + ".keygate-XXXXXX"));
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
        return fail("cannot create a temporary file in " + directory.string() + ": " +
                    errno_text());
    TempFile temp(fd, name.data());

    std::string_view rest = content;
    while (!rest.empty()) {
        const ssize_t written = ::write(temp.fd(), rest.data(), rest.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return fail("cannot write " + temp.path() + ": " + errno_text());
        }
        rest.remove_prefix(static_cast<std::size_t>(written));
    }
    if (::fchmod(temp.fd(), original.st_mode & 07777) != 0) {
        return fail("cannot set the mode of " + temp.path() + ": " + errno_text());
    }
    if (::fsync(temp.fd()) != 0)
        return fail("cannot fsync " + temp.path() + ": " + errno_text());
    if (!temp.close())
        return fail("cannot close " + temp.path() + ": " + errno_text());
    if (::rename(temp.path().c_str(), target.c_str()) != 0) {
        return fail("cannot rename " + temp.path() + " to " + target.string() + ": " +
                    errno_text());
    }
    temp.release();
    // Make the rename itself durable; a failure here cannot be undone, so it is not an error.
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return {};
}

} // namespace keygate::cli
