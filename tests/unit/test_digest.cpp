// SHA-256 / HMAC-SHA256 digests and the "sha256:<hex>" form of stored secrets.
#include "core/digest.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <unordered_set>

using namespace keygate;

namespace {
const std::string k_abc_hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
} // namespace

TEST_CASE("sha256 matches the FIPS 180-2 test vectors", "[digest]") {
    CHECK(to_hex(sha256("abc")) == k_abc_hex);
    CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256 hashes embedded NUL bytes", "[digest]") {
    CHECK(sha256(std::string_view("a\0b", 3)) != sha256("a"));
}

TEST_CASE("hmac_sha256 matches the well-known vector", "[digest]") {
    CHECK(to_hex(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")) ==
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    CHECK(to_hex(hmac_sha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    CHECK(hmac_sha256("pepper-a", "pk_test") != hmac_sha256("pepper-b", "pk_test"));
}

TEST_CASE("format_secret writes the scheme and lowercase hex", "[digest]") {
    CHECK(format_secret({HashKind::sha256, sha256("abc")}) == "sha256:" + k_abc_hex);
    CHECK(format_secret({HashKind::hmac_sha256, sha256("abc")}) == "hmac-sha256:" + k_abc_hex);
}

TEST_CASE("parse_secret reads back what format_secret writes", "[digest]") {
    for (const HashKind kind : {HashKind::sha256, HashKind::hmac_sha256}) {
        const SecretDigest secret{kind, sha256("pk_test_roundtrip")};
        const auto parsed = parse_secret(format_secret(secret));
        REQUIRE(parsed);
        CHECK(*parsed == secret);
    }
}

TEST_CASE("parse_secret refuses malformed hashes without echoing them", "[digest]") {
    const auto error_of = [](std::string_view text) {
        const auto parsed = parse_secret(text);
        REQUIRE_FALSE(parsed);
        // The text may be a secret pasted into the wrong field: never quoted back.
        CHECK(parsed.error().message.find(text) == std::string::npos);
        return parsed.error().message;
    };
    CHECK(error_of("md5:" + k_abc_hex) == "hash must start with \"sha256:\" or \"hmac-sha256:\"");
    CHECK(error_of("pk_live_secretsecret") ==
          "hash must start with \"sha256:\" or \"hmac-sha256:\"");
    CHECK(error_of("SHA256:" + k_abc_hex) ==
          "hash must start with \"sha256:\" or \"hmac-sha256:\"");
    CHECK(error_of("sha256:" + k_abc_hex.substr(1)) ==
          "hash must have exactly 64 hex characters after the prefix, found 63");
    CHECK(error_of("sha256:" + k_abc_hex + "0") ==
          "hash must have exactly 64 hex characters after the prefix, found 65");
    CHECK(error_of("sha256:") ==
          "hash must have exactly 64 hex characters after the prefix, found 0");
    CHECK(error_of(" sha256:" + k_abc_hex) ==
          "hash must start with \"sha256:\" or \"hmac-sha256:\"");

    std::string upper = "sha256:" + k_abc_hex;
    upper[10] = 'F';
    CHECK(error_of(upper) == "hash must be lowercase hex (0-9, a-f)");
    std::string non_hex = "hmac-sha256:" + k_abc_hex;
    non_hex.back() = 'g';
    CHECK(error_of(non_hex) == "hash must be lowercase hex (0-9, a-f)");
}

TEST_CASE("DigestHash spreads digests and is stable", "[digest]") {
    const DigestHash hash;
    CHECK(hash(sha256("a")) == hash(sha256("a")));
    CHECK(hash(sha256("a")) != hash(sha256("b")));
}

TEST_CASE("the digest index uses all 32 bytes: 200 000 placeholder hashes spread out", "[digest]") {
    // sha256:000...N — digests that differ only in their last bytes (the shape that made
    // an index over the first 8 bytes degrade to one bucket).
    std::unordered_set<std::size_t> hashes;
    const DigestHash hash;
    for (std::uint32_t n = 0; n < 200'000; ++n) {
        Digest d{};
        std::memcpy(d.data() + 28, &n, sizeof n);
        hashes.insert(hash(d));
    }
    CHECK(hashes.size() >= 199'990);
    // A change in any one byte changes the hash.
    Digest base{};
    for (std::size_t i = 0; i < base.size(); ++i) {
        Digest other = base;
        other[i] = 1;
        CHECK(hash(other) != hash(base));
    }
}
