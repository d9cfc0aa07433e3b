// listen_unix_socket / remove_unix_socket: mode 0660, stale sockets replaced, nothing else.
#include "http/unix_socket.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

/// A fresh directory, removed with everything in it.
struct SocketDir {
    fs::path path;
    SocketDir() {
        static int counter = 0;
        // Short: sun_path holds 107 bytes.
        path = fs::temp_directory_path() /
               ("kg-us-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~SocketDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    SocketDir(const SocketDir&) = delete;
    SocketDir& operator=(const SocketDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }
};

/// A connected client socket to `path`, or -1.
int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// Closes a descriptor at the end of a scope.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode;
}

} // namespace

TEST_CASE("unix socket: listens, mode 0660, non-blocking and close-on-exec", "[unix_socket]") {
    const SocketDir dir;
    const std::string path = dir.file("keygate.sock");
    const auto fd = listen_unix_socket(path, 16);
    REQUIRE(fd);
    const Fd owned{*fd};
    CHECK(S_ISSOCK(mode_of(path)));
    CHECK((mode_of(path) & 07777) == 0660);
    CHECK((::fcntl(*fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(*fd, F_GETFD) & FD_CLOEXEC) != 0);

    const Fd client{connect_to(path)};
    REQUIRE(client.fd >= 0);
    const Fd accepted{::accept4(*fd, nullptr, nullptr, SOCK_CLOEXEC)};
    REQUIRE(accepted.fd >= 0);
    CHECK(::send(client.fd, "x", 1, MSG_NOSIGNAL) == 1);
    char byte = 0;
    CHECK(::recv(accepted.fd, &byte, 1, 0) == 1);
    CHECK(byte == 'x');
}

TEST_CASE("unix socket: a stale socket file is replaced", "[unix_socket]") {
    const SocketDir dir;
    const std::string path = dir.file("stale.sock");
    {
        // A process that died: its socket file stays, nobody accepts on it.
        const auto old = listen_unix_socket(path, 4);
        REQUIRE(old);
        ::close(*old);
    }
    REQUIRE(fs::exists(fs::symlink_status(path)));
    CHECK(connect_to(path) == -1);
    const auto fd = listen_unix_socket(path, 4);
    REQUIRE(fd);
    const Fd owned{*fd};
    const Fd client{connect_to(path)};
    CHECK(client.fd >= 0);
}

TEST_CASE("unix socket: a live socket, a file or a directory is an error and left alone",
          "[unix_socket]") {
    const SocketDir dir;
    const std::string live = dir.file("live.sock");
    const auto first = listen_unix_socket(live, 4);
    REQUIRE(first);
    const Fd owned{*first};
    const auto second = listen_unix_socket(live, 4);
    REQUIRE_FALSE(second);
    CHECK(second.error().message ==
          "cannot listen on unix:" + live + ": another process is listening on it");
    const Fd client{connect_to(live)}; // the first listener still owns the path
    CHECK(client.fd >= 0);

    const std::string regular = dir.file("keys.yaml");
    std::ofstream(regular) << "version: 1\n";
    const auto on_file = listen_unix_socket(regular, 4);
    REQUIRE_FALSE(on_file);
    CHECK(on_file.error().message == "cannot listen on unix:" + regular +
                                         ": the path exists and is not a socket; not replacing it");
    CHECK(fs::is_regular_file(regular));
    CHECK(fs::file_size(regular) == 11);

    const std::string directory = dir.file("sub");
    fs::create_directory(directory);
    const auto on_dir = listen_unix_socket(directory, 4);
    REQUIRE_FALSE(on_dir);
    CHECK(
        on_dir.error().message.ends_with("the path exists and is not a socket; not replacing it"));
    CHECK(fs::is_directory(directory));
}

TEST_CASE("unix socket: bad paths", "[unix_socket]") {
    const SocketDir dir;
    const std::string missing = dir.file("no/such/dir/keygate.sock");
    const auto in_missing = listen_unix_socket(missing, 4);
    REQUIRE_FALSE(in_missing);
    CHECK(in_missing.error().message ==
          "cannot listen on unix:" + missing + ": No such file or directory");

    const std::string long_path = "/tmp/" + std::string(120, 'k') + ".sock";
    const auto too_long = listen_unix_socket(long_path, 4);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().message ==
          "cannot listen on unix:" + long_path + ": path longer than 107 bytes");

    const auto empty = listen_unix_socket("", 4);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message == "cannot listen on unix:: empty path");
}

TEST_CASE("unix socket: remove_unix_socket removes sockets only", "[unix_socket]") {
    const SocketDir dir;
    const std::string path = dir.file("gone.sock");
    const auto fd = listen_unix_socket(path, 4);
    REQUIRE(fd);
    ::close(*fd);
    remove_unix_socket(path);
    CHECK_FALSE(fs::exists(fs::symlink_status(path)));
    remove_unix_socket(path); // nothing there: no effect

    const std::string regular = dir.file("not-a-socket");
    std::ofstream(regular) << "x";
    remove_unix_socket(regular);
    CHECK(fs::is_regular_file(regular));
}
