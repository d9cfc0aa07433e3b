// serve settings: flag > environment > default.
#include "infra/serve_settings.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

TEST_CASE("listen addresses", "[serve_settings]") {
    auto v4 = parse_listen_address("127.0.0.1:8090");
    REQUIRE(v4);
    CHECK(v4->host == "127.0.0.1");
    CHECK(v4->port == 8090);
    CHECK(v4->to_string() == "127.0.0.1:8090");

    auto v6 = parse_listen_address("[::1]:0");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 0);
    CHECK(v6->to_string() == "[::1]:0");

    auto name = parse_listen_address("localhost:65535");
    REQUIRE(name);
    CHECK(name->host == "localhost");

    auto any = parse_listen_address(":9000");
    REQUIRE(any);
    CHECK(any->host == "0.0.0.0");

    auto unix_socket = parse_listen_address("unix:/run/keygate/keygate.sock");
    REQUIRE(unix_socket);
    CHECK(unix_socket->unix_path == "/run/keygate/keygate.sock");
    CHECK(unix_socket->to_string() == "unix:/run/keygate/keygate.sock");
    CHECK_FALSE(v4->unix_path);
    auto relative = parse_listen_address("unix:keygate.sock");
    REQUIRE(relative);
    CHECK(relative->unix_path == "keygate.sock");
    auto host_named_unix = parse_listen_address("unix:8090");
    REQUIRE(host_named_unix);
    CHECK_FALSE(host_named_unix->unix_path);
    CHECK(host_named_unix->to_string() == "unix:8090");

    const auto bad = [](std::string_view text, const std::string& message) {
        const auto parsed = parse_listen_address(text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().message == message);
    };
    bad("8090", "invalid listen address '8090' (expected HOST:PORT)");
    bad("127.0.0.1:65536",
        "invalid listen address '127.0.0.1:65536': invalid port '65536' (expected 0-65535)");
    bad("127.0.0.1:", "invalid listen address '127.0.0.1:': invalid port '' (expected 0-65535)");
    bad("127.0.0.1:+80",
        "invalid listen address '127.0.0.1:+80': invalid port '+80' (expected 0-65535)");
    bad("::1:8090",
        "invalid listen address '::1:8090': write an IPv6 host in brackets, as [::1]:8090");
    bad("[::1]8090", "invalid listen address '[::1]8090' (expected [IPV6]:PORT)");
    bad("[127.0.0.1]:80", "invalid listen address '[127.0.0.1]:80': not an IPv6 address");
    bad("unix:", "invalid listen address 'unix:' (expected unix:/PATH)");
}

TEST_CASE("trusted proxies from the environment", "[serve_settings]") {
    auto proxies = parse_trusted_proxies(" 10.0.0.0/8, ::1/128,,192.168.1.1 ");
    REQUIRE(proxies);
    REQUIRE(proxies->size() == 3);
    CHECK((*proxies)[0].text == "10.0.0.0/8");
    CHECK((*proxies)[2].contains(*parse_ip("192.168.1.1")));
    auto none = parse_trusted_proxies("none");
    REQUIRE(none);
    CHECK(none->empty());
    auto bad = parse_trusted_proxies("10.0.0.0/8,nope");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("'nope': "));
}

TEST_CASE("serve settings: defaults", "[serve_settings]") {
    const auto settings = resolve_serve_settings({}, environment_from_map({}));
    REQUIRE(settings);
    CHECK(settings->config_path == "keys.yaml");
    CHECK(settings->listen.to_string() == "127.0.0.1:8090");
    CHECK_FALSE(settings->grace_period);
    CHECK_FALSE(settings->trusted_proxies);
    CHECK_FALSE(settings->hash_pepper);
    CHECK_FALSE(settings->keep_alive_timeout);
    CHECK_FALSE(settings->read_timeout);
    CHECK(settings->shutdown_delay == Duration(0));
    CHECK_FALSE(settings->admin_listen);
    CHECK_FALSE(settings->grpc_listen);
    CHECK(settings->log.level == spdlog::level::info);
    CHECK(settings->log.format == LogFormat::text);
}

TEST_CASE("serve settings: the environment, and flags over it", "[serve_settings]") {
    const auto env = environment_from_map({
        {"KEYGATE_CONFIG", "/etc/keygate/keys.yaml"},
        {"KEYGATE_LISTEN", "0.0.0.0:9000"},
        {"KEYGATE_GRACE_PERIOD", "15m"},
        {"KEYGATE_TRUSTED_PROXIES", "10.0.0.0/8"},
        {"KEYGATE_HASH_PEPPER", "test-pepper"},
        {"KEYGATE_LOG_LEVEL", "DEBUG"},
        {"KEYGATE_LOG_FORMAT", "json"},
        {"KEYGATE_KEEPALIVE_TIMEOUT", "120s"},
        {"KEYGATE_READ_TIMEOUT", "2s"},
        {"KEYGATE_SHUTDOWN_DELAY", "5s"},
        {"KEYGATE_ENV_FILE", "/run/keygate.env"},
    });
    const auto from_env = resolve_serve_settings({}, env);
    REQUIRE(from_env);
    CHECK(from_env->config_path == "/etc/keygate/keys.yaml");
    CHECK(from_env->listen.to_string() == "0.0.0.0:9000");
    CHECK(from_env->grace_period == Duration(15min));
    REQUIRE(from_env->trusted_proxies);
    CHECK(from_env->trusted_proxies->at(0).text == "10.0.0.0/8");
    CHECK(from_env->hash_pepper == "test-pepper");
    CHECK(from_env->log.level == spdlog::level::debug);
    CHECK(from_env->log.format == LogFormat::json);
    CHECK(from_env->keep_alive_timeout == Duration(120s));
    CHECK(from_env->read_timeout == Duration(2s));
    CHECK(from_env->shutdown_delay == Duration(5s));
    CHECK(env_file_path({}, env) == "/run/keygate.env");

    ServeFlags flags;
    flags.config = "flag.yaml";
    flags.listen = "[::1]:0";
    flags.env_file = "flag.env";
    const auto from_flags = resolve_serve_settings(flags, env);
    REQUIRE(from_flags);
    CHECK(from_flags->config_path == "flag.yaml");
    CHECK(from_flags->listen.to_string() == "[::1]:0");

    flags.listen = "unix:/tmp/flag.sock";
    const auto on_socket = resolve_serve_settings(flags, env);
    REQUIRE(on_socket);
    CHECK(on_socket->listen.unix_path == "/tmp/flag.sock");
    const auto socket_from_env =
        resolve_serve_settings({}, environment_from_map({{"KEYGATE_LISTEN", "unix:/run/k.sock"}}));
    REQUIRE(socket_from_env);
    CHECK(socket_from_env->listen.to_string() == "unix:/run/k.sock");
    CHECK(env_file_path(flags, env) == "flag.env");
}

TEST_CASE("serve settings: the admin and gRPC listeners are off unless set", "[serve_settings]") {
    // Empty counts as unset (a Helm value left blank).
    const auto empty = resolve_serve_settings(
        {}, environment_from_map({{"KEYGATE_ADMIN_LISTEN", ""}, {"KEYGATE_GRPC_LISTEN", ""}}));
    REQUIRE(empty);
    CHECK_FALSE(empty->admin_listen);
    CHECK_FALSE(empty->grpc_listen);

    const auto env = environment_from_map(
        {{"KEYGATE_ADMIN_LISTEN", "0.0.0.0:9100"}, {"KEYGATE_GRPC_LISTEN", "unix:/run/grpc.sock"}});
    const auto from_env = resolve_serve_settings({}, env);
    REQUIRE(from_env);
    REQUIRE(from_env->admin_listen);
    CHECK(from_env->admin_listen->to_string() == "0.0.0.0:9100");
    REQUIRE(from_env->grpc_listen);
    CHECK(from_env->grpc_listen->to_string() == "unix:/run/grpc.sock");
    // The main listener is untouched by either.
    CHECK(from_env->listen.to_string() == "127.0.0.1:8090");

    ServeFlags flags;
    flags.admin_listen = "unix:/run/keygate/admin.sock";
    flags.grpc_listen = "[::1]:9001";
    const auto from_flags = resolve_serve_settings(flags, env);
    REQUIRE(from_flags);
    REQUIRE(from_flags->admin_listen);
    CHECK(from_flags->admin_listen->unix_path == "/run/keygate/admin.sock");
    REQUIRE(from_flags->grpc_listen);
    CHECK(from_flags->grpc_listen->to_string() == "[::1]:9001");

    // A flag wins even over a variable that would be an error.
    ServeFlags admin_flag;
    admin_flag.admin_listen = ":9100";
    const auto over_bad = resolve_serve_settings(
        admin_flag, environment_from_map({{"KEYGATE_ADMIN_LISTEN", "nowhere"}}));
    REQUIRE(over_bad);
    CHECK(over_bad->admin_listen->to_string() == "0.0.0.0:9100");
}

TEST_CASE("serve settings: errors name the flag or variable", "[serve_settings]") {
    const auto error_of = [](ServeFlags flags, std::map<std::string, std::string> env) {
        const auto settings = resolve_serve_settings(flags, environment_from_map(std::move(env)));
        REQUIRE_FALSE(settings);
        return settings.error().message;
    };
    ServeFlags bad_listen;
    bad_listen.listen = "nowhere";
    CHECK(error_of(bad_listen, {}) ==
          "--listen: invalid listen address 'nowhere' (expected HOST:PORT)");
    CHECK(error_of({}, {{"KEYGATE_LISTEN", "x:y"}}) ==
          "KEYGATE_LISTEN: invalid listen address 'x:y': invalid port 'y' (expected 0-65535)");
    ServeFlags bad_admin;
    bad_admin.admin_listen = "9100";
    CHECK(error_of(bad_admin, {}) ==
          "--admin-listen: invalid listen address '9100' (expected HOST:PORT)");
    CHECK(error_of({}, {{"KEYGATE_ADMIN_LISTEN", "0.0.0.0:99999"}}) ==
          "KEYGATE_ADMIN_LISTEN: invalid listen address '0.0.0.0:99999': invalid port '99999' "
          "(expected 0-65535)");
    CHECK(error_of({}, {{"KEYGATE_ADMIN_LISTEN", "unix:"}}) ==
          "KEYGATE_ADMIN_LISTEN: invalid listen address 'unix:' (expected unix:/PATH)");
    ServeFlags bad_grpc;
    bad_grpc.grpc_listen = "::1:9001";
    CHECK(error_of(bad_grpc, {}) == "--grpc-listen: invalid listen address '::1:9001': write an "
                                    "IPv6 host in brackets, as [::1]:8090");
    CHECK(error_of({}, {{"KEYGATE_GRPC_LISTEN", "x:y"}}) ==
          "KEYGATE_GRPC_LISTEN: invalid listen address 'x:y': invalid port 'y' (expected 0-65535)");
    CHECK(error_of({}, {{"KEYGATE_GRACE_PERIOD", "soon"}}).starts_with("KEYGATE_GRACE_PERIOD: "));
    CHECK(error_of({}, {{"KEYGATE_TRUSTED_PROXIES", "10.0.0.1/8"}})
              .starts_with("KEYGATE_TRUSTED_PROXIES: '10.0.0.1/8': "));
    CHECK(error_of({}, {{"KEYGATE_LOG_LEVEL", "loud"}}) ==
          "KEYGATE_LOG_LEVEL: unknown level 'loud' (expected trace, debug, info, warn, error, "
          "critical or off)");
    CHECK(error_of({}, {{"KEYGATE_LOG_FORMAT", "xml"}}) ==
          "KEYGATE_LOG_FORMAT: unknown format 'xml' (expected text or json)");
    CHECK(error_of({}, {{"KEYGATE_KEEPALIVE_TIMEOUT", "500ms"}}) ==
          "KEYGATE_KEEPALIVE_TIMEOUT: must be at least 1s");
    CHECK(error_of({}, {{"KEYGATE_READ_TIMEOUT", "10ms"}}) ==
          "KEYGATE_READ_TIMEOUT: must be at least 100ms");
    CHECK(error_of({}, {{"KEYGATE_SHUTDOWN_DELAY", "later"}})
              .starts_with("KEYGATE_SHUTDOWN_DELAY: "));
}
