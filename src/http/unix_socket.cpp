// bind() on a Unix domain socket, replacing only a stale socket file.
#include "http/unix_socket.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace keygate {
namespace {

/// The address of `path`; false when it does not fit sun_path (with its NUL).
bool unix_address(const std::string& path, sockaddr_un& address) {
    address = {};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        return false;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return true;
}

/// What accepts connections at a socket file.
enum class Peer { none, listening, unknown };

/// Asks the socket at `address` with a blocking connect(): refused means nobody listens.
Peer probe(const sockaddr_un& address, int& error) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return Peer::unknown;
    }
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    error = rc == 0 ? 0 : errno;
    ::close(fd);
    if (rc == 0 || error == EAGAIN) // EAGAIN: a listener whose backlog is full
        return Peer::listening;
    return error == ECONNREFUSED ? Peer::none : Peer::unknown;
}

std::string errno_text(int error) {
    return std::strerror(error);
}

} // namespace

Result<void> clear_stale_unix_socket(const std::string& path) {
    const std::string prefix = "cannot listen on unix:" + path + ": ";
    sockaddr_un address{};
    if (!unix_address(path, address)) {
        return fail(prefix + (path.empty()
                                  ? std::string("empty path")
                                  : "path longer than " +
                                        std::to_string(sizeof address.sun_path - 1) + " bytes"));
    }
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode))
            return fail(prefix + "the path exists and is not a socket; not replacing it");
        int error = 0;
        switch (probe(address, error)) {
        case Peer::listening:
            return fail(prefix + "another process is listening on it");
        case Peer::unknown:
            return fail(prefix +
                        "cannot tell whether the existing socket is in use: " + errno_text(error));
        case Peer::none:
            // Left by a process that is gone (a crash, SIGKILL): bind() would fail on it.
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                return fail(prefix + "cannot remove the stale socket: " + errno_text(errno));
            break;
        }
    } else if (errno != ENOENT) {
        return fail(prefix + errno_text(errno));
    }
    return {};
}

Result<int> listen_unix_socket(const std::string& path, int backlog) {
    const std::string prefix = "cannot listen on unix:" + path + ": ";
    if (auto cleared = clear_stale_unix_socket(path); !cleared)
        return fail(cleared.error().message);
    sockaddr_un address{};
    unix_address(path, address);

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(prefix + "socket(): " + errno_text(errno));
    const auto close_with = [&](const std::string& what, bool remove) -> Result<int> {
        const int error = errno;
        ::close(fd);
        if (remove)
            ::unlink(path.c_str());
        return fail(prefix + what + errno_text(error));
    };
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return close_with("", false);
    // Owner and group (the proxy's container shares the group through fsGroup): read and
    // write, which connect() needs; nobody else.
    if (::chmod(path.c_str(), 0660) != 0)
        return close_with("chmod 0660: ", true);
    if (::listen(fd, backlog) != 0)
        return close_with("listen(): ", true);
    return fd;
}

void remove_unix_socket(const std::string& path) {
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode))
        ::unlink(path.c_str());
}

} // namespace keygate
