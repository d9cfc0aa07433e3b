// `keygate probe`'s HTTP client against a scripted server on 127.0.0.1:0 and a Unix socket.
#include "cli/http_probe.hpp"
#include "cli/probe_target.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace keygate::cli;
using namespace std::chrono_literals;

namespace {

/// Accepts one connection, reads the request head, writes `answer` (nothing if empty, then
/// waits until the client hangs up), and keeps the request it saw.
class ScriptedServer {
  public:
    ScriptedServer(std::string answer, bool unix_socket = false) : m_answer(std::move(answer)) {
        if (unix_socket) {
            char dir[] = "/tmp/keygate-probe-XXXXXX";
            REQUIRE(::mkdtemp(dir) != nullptr);
            m_dir = dir;
            m_socket_path = m_dir + "/s.sock";
            m_listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            m_socket_path.copy(a.sun_path, m_socket_path.size());
            REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        } else {
            m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            socklen_t size = sizeof a;
            ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&a), &size);
            m_port = ntohs(a.sin_port);
        }
        REQUIRE(::listen(m_listen, 4) == 0);
        m_thread = std::thread([this] { serve_one(); });
    }
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;
    ~ScriptedServer() {
        ::shutdown(m_listen, SHUT_RDWR);
        if (m_thread.joinable())
            m_thread.join();
        ::close(m_listen);
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }
    std::string url(const std::string& path) const {
        return m_socket_path.empty() ? "http://127.0.0.1:" + std::to_string(m_port) + path
                                     : "unix:" + m_socket_path + ":" + path;
    }
    /// The request head the server read (valid once the client is done).
    const std::string& request() {
        if (m_thread.joinable()) {
            ::shutdown(m_listen, SHUT_RDWR);
            m_thread.join();
        }
        return m_request;
    }

  private:
    void serve_one() {
        const int fd = ::accept(m_listen, nullptr, nullptr);
        if (fd < 0)
            return;
        char buffer[2048];
        while (m_request.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                break;
            m_request.append(buffer, static_cast<std::size_t>(n));
        }
        if (!m_answer.empty()) {
            ::send(fd, m_answer.data(), m_answer.size(), MSG_NOSIGNAL);
        } else {
            while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
            }
        }
        ::close(fd);
    }

    std::string m_answer;
    std::string m_dir;
    std::string m_socket_path;
    int m_listen = -1;
    std::uint16_t m_port = 0;
    std::string m_request;
    std::thread m_thread;
};

keygate::Result<ProbeResponse> probe(const std::string& url, std::chrono::milliseconds timeout) {
    const auto target = parse_probe_url(url);
    REQUIRE(target);
    return http_probe(*target, timeout);
}

} // namespace

TEST_CASE("http_probe reads the status line and sends a proper GET", "[http_probe]") {
    ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const auto response = probe(server.url("/readyz"), 2s);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->reason == "OK");
    const std::string& request = server.request();
    CHECK(request.starts_with("GET /readyz HTTP/1.1\r\n"));
    CHECK_THAT(request, Catch::Contains("\r\nHost: 127.0.0.1:"));
    CHECK_THAT(request, Catch::Contains("\r\nConnection: close\r\n"));
}

TEST_CASE("http_probe reports a non-2xx status as it is", "[http_probe]") {
    ScriptedServer server("HTTP/1.1 503 Service Unavailable\r\n\r\n");
    const auto response = probe(server.url("/readyz"), 2s);
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(response->reason == "Service Unavailable");
}

TEST_CASE("http_probe over a Unix socket", "[http_probe]") {
    ScriptedServer server("HTTP/1.0 204 No Content\r\n\r\n", true);
    const auto response = probe(server.url("/healthz"), 2s);
    REQUIRE(response);
    CHECK(response->status == 204);
    CHECK(server.request().starts_with("GET /healthz HTTP/1.1\r\nHost: localhost\r\n"));
}

TEST_CASE("http_probe refuses an answer that is not HTTP", "[http_probe]") {
    ScriptedServer server("SSH-2.0-OpenSSH_9.2\r\n");
    const auto response = probe(server.url("/"), 2s);
    REQUIRE_FALSE(response);
    CHECK_THAT(response.error().message, Catch::Contains("not HTTP/1.x"));
}

TEST_CASE("http_probe: a hang-up without an answer", "[http_probe]") {
    ScriptedServer server("HTTP/1.1 2");
    const auto response = probe(server.url("/"), 2s);
    REQUIRE_FALSE(response);
    CHECK_THAT(response.error().message, Catch::Contains("closed the connection"));
}

TEST_CASE("http_probe gives up at its deadline when the server never answers", "[http_probe]") {
    ScriptedServer server("");
    const auto start = std::chrono::steady_clock::now();
    const auto response = probe(server.url("/readyz"), 300ms);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(response);
    CHECK_THAT(response.error().message, Catch::Contains("no answer from 127.0.0.1:"));
    CHECK_THAT(response.error().message, Catch::Contains("within 300ms"));
    CHECK(took >= 290ms);
    CHECK(took < 2s);
}

TEST_CASE("http_probe: nothing listens", "[http_probe]") {
    std::uint16_t port = 0;
    {
        ScriptedServer closed("HTTP/1.1 200 OK\r\n\r\n");
        const std::string url = closed.url("/");
        port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
        // Let the server's one accept() end without a client.
    }
    const auto tcp = probe("http://127.0.0.1:" + std::to_string(port) + "/readyz", 1s);
    REQUIRE_FALSE(tcp);
    CHECK_THAT(tcp.error().message, Catch::Contains("Connection refused"));
    const auto unix_socket = probe("unix:/nonexistent/keygate.sock:/readyz", 1s);
    REQUIRE_FALSE(unix_socket);
    CHECK_THAT(unix_socket.error().message,
               Catch::Contains("connect to unix:/nonexistent/keygate.sock: No such file"));
}
