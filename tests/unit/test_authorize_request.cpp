// POST /v1/authorize bodies -> AuthRequest.
#include "header_list.hpp"
#include "server/authorize_request.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

namespace {

IpAddress ip(std::string_view text) {
    return parse_ip(text).value();
}

/// parse_authorize_request over headers that live as long as the call.
Result<AuthorizeQuestion> parse(std::string_view body, const test::HeaderList& headers,
                                const IpAddress& peer, const Settings& settings) {
    const http::Request request = test::request_with(headers);
    const RequestHeaders gathered = gather_request_headers(request.fields(), settings.header);
    return parse_authorize_request(body, gathered, peer, settings);
}

Settings loopback_trusted() {
    Settings settings;
    settings.trusted_proxies = default_trusted_proxies();
    return settings;
}

} // namespace

TEST_CASE("authorize: every field", "[authorize_request]") {
    const auto question = parse(
        R"({"dataset":"orders","permission":"read","method":"post","path":"/v1/query?dataset=c",
            "client_ip":"203.0.113.5","consume":false,"unknown":[1,2]})",
        {{"X-API-Key", "pk_acme_test0001"}}, ip("127.0.0.1"), loopback_trusted());
    REQUIRE(question);
    const AuthRequest& request = question->request;
    CHECK(request.key == "pk_acme_test0001");
    CHECK(request.method == "POST");
    CHECK(request.path == "/v1/query");
    CHECK(request.query_datasets == std::vector<std::string>{"c"});
    CHECK(request.body_dataset == "orders");
    CHECK(request.permission == "read");
    CHECK(request.client_ip == ip("203.0.113.5"));
    CHECK_FALSE(question->consume);
    CHECK(question->endpoint == "/v1/query?dataset=c");
}

TEST_CASE("authorize: defaults", "[authorize_request]") {
    for (const std::string_view body : {std::string_view{}, std::string_view("{}"),
                                        std::string_view(R"({"dataset":null,"path":""})")}) {
        const auto question = parse(body, {}, ip("192.0.2.1"), loopback_trusted());
        REQUIRE(question);
        CHECK_FALSE(question->request.key);
        CHECK(question->request.method == "GET");
        CHECK(question->request.path == "/");
        CHECK_FALSE(question->request.body_dataset);
        CHECK_FALSE(question->request.permission);
        CHECK(question->request.client_ip == ip("192.0.2.1"));
        CHECK(question->consume);
        CHECK(question->endpoint == "/v1/authorize");
    }
}

TEST_CASE("authorize: the key from the header, else the body; different is a conflict",
          "[authorize_request]") {
    const Settings settings = loopback_trusted();
    auto body_key = parse(R"({"api_key":"pk_body"})", {}, ip("127.0.0.1"), settings);
    CHECK(body_key->request.key == "pk_body");
    auto bearer = parse("{}", {{"Authorization", "Bearer pk_b"}}, ip("127.0.0.1"), settings);
    CHECK(bearer->request.key == "pk_b");
    auto same = parse(R"({"api_key":"pk_a"})", {{"X-API-Key", "pk_a"}}, ip("127.0.0.1"), settings);
    CHECK(same->request.key == "pk_a");
    auto conflict =
        parse(R"({"api_key":"pk_b"})", {{"X-API-Key", "pk_a"}}, ip("127.0.0.1"), settings);
    CHECK(conflict->request.conflicting_keys);
    CHECK_FALSE(conflict->request.key);
}

TEST_CASE("authorize: client_ip only from a trusted peer", "[authorize_request]") {
    const Settings settings = loopback_trusted();
    const auto untrusted = parse(R"({"client_ip":"10.1.2.3"})", {{"X-Real-IP", "10.4.4.4"}},
                                 ip("192.0.2.1"), settings);
    CHECK(untrusted->request.client_ip == ip("192.0.2.1"));
    // An untrusted peer's client_ip is ignored, even when it is not an address.
    CHECK(parse(R"({"client_ip":"nope"})", {}, ip("192.0.2.1"), settings));
    // A trusted peer without client_ip: its forwarding headers, as on /auth.
    const auto forwarded = parse("{}", {{"X-Real-IP", "10.4.4.4"}}, ip("127.0.0.1"), settings);
    CHECK(forwarded->request.client_ip == ip("10.4.4.4"));
}

TEST_CASE("authorize: bad bodies", "[authorize_request]") {
    const Settings settings = loopback_trusted();
    const auto error_of = [&](std::string_view body) {
        const auto question = parse(body, {}, ip("127.0.0.1"), settings);
        REQUIRE_FALSE(question);
        return question.error().message;
    };
    CHECK(error_of("{not json") == "Malformed JSON body");
    CHECK(error_of("[1]") == "The body must be a JSON object");
    CHECK(error_of("\"x\"") == "The body must be a JSON object");
    CHECK(error_of(R"({"method":5})") == "'method' must be a string");
    CHECK(error_of(R"({"dataset":["a"]})") == "'dataset' must be a string");
    CHECK(error_of(R"({"consume":"no"})") == "'consume' must be true or false");
    CHECK(error_of(R"({"client_ip":"999.1.1.1"})") == "'client_ip' is not an IP address");
}
