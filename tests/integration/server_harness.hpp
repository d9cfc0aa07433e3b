#pragma once
// A real keygate server on 127.0.0.1:0 in-process, in a temp dir, stopped and joined by its
// destructor; and a raw HTTP/1.1 client that shows the exact bytes the server sent.
#include "core/digest.hpp"
#include "infra/audit_sink.hpp"
#include "infra/key_set_holder.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/usage_tracker.hpp"
#include "server/admission_control.hpp"
#include "server/keygate_server.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace keygate::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Polls `condition` until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// A fresh directory, removed with everything in it.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("keygate-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// Writes `content` to `name` in the directory and returns its path.
    std::string write(const std::string& name, std::string_view content) const {
        const fs::path file = path / name;
        std::ofstream(file, std::ios::binary) << content;
        return file.string();
    }
};

/// "sha256:<hex>" of a key.
inline std::string sha256_secret(std::string_view key) {
    return "sha256:" + to_hex(sha256(key));
}

// Obviously fake test keys.
inline const std::string k_bi_key = "pk_acme_itestBIREADERx7Qm2Lp9";
inline const std::string k_analyst_key = "pk_acme_itestANALYSTz3Vn8Kd4";
inline const std::string k_disabled_key = "pk_acme_itestDISABLEDq5Wr1Hs6";
inline const std::string k_expired_key = "pk_acme_itestEXPIREDm8Tb4Jx2";
inline const std::string k_office_key = "pk_acme_itestOFFICEp2Gy7Nc3";
inline const std::string k_limited_key = "pk_acme_itestLIMITEDk4Fz9Rw1";
inline const std::string k_rotated_key = "pk_acme_itestROTATEDnewh6Ue3";
inline const std::string k_rotated_old_key = "pk_acme_itestROTATEDold5Yq8";
inline const std::string k_rotated_gone_key = "pk_acme_itestROTATEDgone2Lm4";
inline const std::string k_admin_key = "pk_ops_itestADMINv9Ds3Qa7";
inline const std::string k_unknown_key = "pk_acme_itestUNKNOWNa1b2c3d4";

/// The key file of the integration tests: one key per row of CONTRACT §5.
inline std::string test_key_file(std::string_view settings = {}) {
    std::string yaml = "version: 1\n";
    yaml += settings;
    yaml += R"(
tenants:
  acme_corp: {allowed_datasets: [orders, customers]}
api_keys:
  - {id: acme-bi, key: ")" +
            k_bi_key + R"(", tenant: acme_corp, role: viewer, allowed_datasets: [orders]}
  - {id: acme-analysts, key: ")" +
            k_analyst_key + R"(", tenant: acme_corp, role: analyst, denied_datasets: [orders_raw]}
  - {id: acme-disabled, key: ")" +
            k_disabled_key + R"(", tenant: acme_corp, role: viewer, enabled: false}
  - {id: acme-expired, key: ")" +
            k_expired_key + R"(", tenant: acme_corp, role: viewer, expires_at: 2020-01-01T00:00:00Z}
  - {id: acme-office, key: ")" +
            k_office_key + R"(", tenant: acme_corp, role: viewer, ip_allowlist: [10.1.0.0/16]}
  - {id: acme-limited, key: ")" +
            k_limited_key + R"(", tenant: acme_corp, role: viewer, rate_limit: 2}
  - id: acme-rotated
    key: ")" +
            k_rotated_key + R"("
    tenant: acme_corp
    role: viewer
    previous_keys:
      - {key_hash: ")" +
            sha256_secret(k_rotated_old_key) + R"(", expires_at: 2999-01-01T00:00:00Z}
      - {key_hash: ")" +
            sha256_secret(k_rotated_gone_key) + R"(", expires_at: 2020-01-01T00:00:00Z}
  - {id: ops-admin, key: ")" +
            k_admin_key + R"(", role: admin}
)";
    return yaml;
}

/// How a TestServer is set up.
struct TestServerConfig {
    std::string key_file = test_key_file();
    std::optional<std::vector<Cidr>> trusted_proxies; ///< KEYGATE_TRUSTED_PROXIES
    bool load_keys = true;                            ///< false: /readyz stays 503
    ServerOptions options = [] {
        ServerOptions o;
        o.listener.threads.min_threads = 2;
        return o;
    }();
    std::function<TimePoint()> clock = now_ms;
    std::string host = "127.0.0.1";
};

/// A running server; the destructor stops it and joins its thread (the scope guard).
class TestServer {
  public:
    explicit TestServer(TestServerConfig config = {}) : admission_(usage_) {
        KeySetSources sources;
        sources.config_path = dir_.write("keys.yaml", config.key_file);
        sources.trusted_proxies_override = config.trusted_proxies;
        if (config.load_keys) {
            KeySetLoad load = load_key_set(sources, now_ms());
            for (const auto& d : load.diagnostics.items)
                UNSCOPED_INFO(d.message);
            REQUIRE(load.ok());
            keys_.publish(load.store);
        }
        server_ = std::make_unique<KeygateServer>(
            config.options, HttpApiDeps{keys_, audit_, &admission_, config.clock});
        const auto port = server_->bind(config.host, 0);
        REQUIRE(port);
        port_ = *port;
        thread_ = std::thread([this] {
            run_result_ = server_->run();
            finished_.store(true);
        });
    }
    ~TestServer() { stop(); }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    /// Stops and joins (idempotent).
    void stop() {
        if (server_)
            server_->stop();
        if (thread_.joinable())
            thread_.join();
    }
    /// True once run() has returned.
    bool finished() const { return finished_.load(); }

    int port() const { return port_; }
    KeygateServer& server() { return *server_; }
    const http::Listener& listener() const { return server_->listener(); }
    const MemoryAuditSink& audit() const { return audit_; }
    bool run_result() const { return run_result_; }

  private:
    TempDir dir_;
    KeySetHolder keys_;
    MemoryAuditSink audit_;
    UsageTracker usage_;
    UsageTrackerAdmission admission_;
    std::unique_ptr<KeygateServer> server_;
    std::thread thread_;
    int port_ = 0;
    bool run_result_ = false;
    std::atomic<bool> finished_{false};
};

/// A parsed HTTP response, with its head as received.
struct HttpResponse {
    int status = 0;
    std::string head; ///< status line and header lines, exactly as received
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// Number of headers named `name` (case-insensitive).
    std::size_t count(std::string_view name) const {
        std::size_t n = 0;
        for (const auto& [k, v] : headers)
            n += iequals(k, name) ? 1 : 0;
        return n;
    }
    /// The value of the one header named `name`; fails the test when not exactly one.
    std::string header(std::string_view name) const {
        INFO("header " << name << " in\n" << head);
        REQUIRE(count(name) == 1);
        for (const auto& [k, v] : headers) {
            if (iequals(k, name))
                return v;
        }
        return {};
    }
    static bool iequals(std::string_view a, std::string_view b) {
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(a[i])) !=
                std::tolower(static_cast<unsigned char>(b[i]))) {
                return false;
            }
        }
        return true;
    }
};

/// One TCP connection that sends raw bytes and reads responses.
class RawClient {
  public:
    /// Connects to 127.0.0.1:`port`, or to [::1]:`port` with `ipv6`.
    explicit RawClient(int port, bool ipv6 = false) {
        fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        const int on = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        if (ipv6) {
            sockaddr_in6 address{};
            address.sin6_family = AF_INET6;
            address.sin6_port = htons(static_cast<std::uint16_t>(port));
            ::inet_pton(AF_INET6, "::1", &address.sin6_addr);
            REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        } else {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(static_cast<std::uint16_t>(port));
            ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
            REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        }
    }
    ~RawClient() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    /// Sends all of `bytes` (false when the server closed the connection).
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads one response (a body by Content-Length, none for a HEAD request); nullopt on
    /// timeout or close.
    std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s,
                                              bool head_request = false) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::size_t head_end;
        while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline))
                return std::nullopt;
        }
        HttpResponse response;
        response.head = buffer_.substr(0, head_end);
        std::size_t line_start = response.head.find("\r\n");
        const std::string status_line = response.head.substr(0, line_start);
        if (status_line.size() < 12)
            return std::nullopt;
        response.status = std::stoi(status_line.substr(9, 3));
        std::size_t content_length = 0;
        while (line_start != std::string::npos && line_start < response.head.size()) {
            const std::size_t next = response.head.find("\r\n", line_start + 2);
            const std::string line = response.head.substr(
                line_start + 2,
                (next == std::string::npos ? response.head.size() : next) - line_start - 2);
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ')
                    value.erase(0, 1);
                response.headers.emplace_back(line.substr(0, colon), value);
                if (HttpResponse::iequals(line.substr(0, colon), "Content-Length")) {
                    content_length = std::stoul(value);
                }
            }
            line_start = next;
        }
        buffer_.erase(0, head_end + 4);
        if (head_request)
            content_length = 0;
        while (buffer_.size() < content_length) {
            if (!fill(deadline))
                return std::nullopt;
        }
        response.body = buffer_.substr(0, content_length);
        buffer_.erase(0, content_length);
        return response;
    }

    /// Shuts the connection down in both directions (a blocked send() returns).
    void shutdown_now() { ::shutdown(fd_, SHUT_RDWR); }
    /// Ends the sending side only (a half-close): responses can still be read.
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    /// True when the server closes the connection (EOF) within `timeout`.
    bool closed_by_server(std::chrono::milliseconds timeout = 3s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            pollfd fd{fd_, POLLIN, 0};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
                return false;
            }
            char byte[4096];
            const ssize_t n = ::recv(fd_, byte, sizeof byte, 0);
            if (n <= 0)
                return true; // EOF or reset
        }
    }

    int fd() const { return fd_; }

  private:
    bool fill(std::chrono::steady_clock::time_point deadline) {
        pollfd fd{fd_, POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0)
            return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
};

/// A request in wire format. `headers` are sent in order; Host is added first.
inline std::string
http_request(std::string_view method, std::string_view target,
             const std::vector<std::pair<std::string, std::string>>& headers = {},
             std::string_view body = {}) {
    std::string request =
        std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: keygate\r\n";
    for (const auto& [name, value] : headers)
        request += name + ": " + value + "\r\n";
    if (!body.empty())
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n";
    request += body;
    return request;
}

/// Sends one request on a new connection and reads the response.
inline HttpResponse round_trip(int port, const std::string& request) {
    RawClient client(port);
    REQUIRE(client.send(request));
    auto response = client.read_response(5s, request.starts_with("HEAD "));
    REQUIRE(response);
    return *response;
}

} // namespace keygate::testing
