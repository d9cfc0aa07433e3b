// keygate's key format: CRC-32, base62, generation and classification.
#include "core/key_format.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <vector>

using namespace keygate;

namespace {

bool all_base62(std::string_view text) {
    constexpr std::string_view alphabet =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    return text.find_first_not_of(alphabet) == std::string_view::npos;
}

} // namespace

TEST_CASE("crc32_ieee matches zlib's crc32", "[key_format]") {
    CHECK(crc32_ieee("123456789") == 0xCBF43926u);
    CHECK(crc32_ieee("") == 0u);
    CHECK(crc32_ieee("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
}

TEST_CASE("to_base62 uses 0-9A-Za-z and pads on the left", "[key_format]") {
    CHECK(to_base62(0, 6) == "000000");
    CHECK(to_base62(0, 0) == "0");
    CHECK(to_base62(9, 1) == "9");
    CHECK(to_base62(10, 1) == "A");
    CHECK(to_base62(36, 1) == "a");
    CHECK(to_base62(61, 1) == "z");
    CHECK(to_base62(62, 0) == "10");
    CHECK(to_base62(0xCBF43926u, 6) == "3jZRME");
    CHECK(to_base62(0xFFFFFFFFu, 6) == "4gfFC3");
    CHECK(to_base62(UINT64_MAX, 0) == "LygHa16AHYF");
    CHECK(to_base62(62, 6) == "000010");
}

TEST_CASE("assemble_key appends the base62 CRC-32 of the rest", "[key_format]") {
    CHECK(assemble_key("pk", "acme", std::string(30, '0')) ==
          "pk_acme_0000000000000000000000000000004S86pQ");
    CHECK(assemble_key("pk", "acme_corp", "abcdefghijABCDEFGHIJ0123456789") ==
          "pk_acme_corp_abcdefghijABCDEFGHIJ012345678932SbX0");
}

TEST_CASE("generate_key builds prefix_tenant_body+check", "[key_format]") {
    const auto key = generate_key("pk", "acme_corp");
    REQUIRE(key);
    REQUIRE(key->size() == std::string("pk_acme_corp_").size() + 36);
    CHECK(key->starts_with("pk_acme_corp_"));
    const std::string body = key->substr(13, 30);
    const std::string check = key->substr(43);
    CHECK(all_base62(body));
    CHECK(all_base62(check));
    CHECK(check == to_base62(crc32_ieee(key->substr(0, 43)), 6));
    CHECK(*key == assemble_key("pk", "acme_corp", body));
    CHECK(classify_key(*key) == KeyShape::checksum_ok);
}

TEST_CASE("1000 generated keys are distinct and well-formed", "[key_format]") {
    std::set<std::string> keys;
    std::map<char, int> counts;
    for (int i = 0; i < 1000; ++i) {
        const auto key = generate_key("pk", "acme");
        REQUIRE(key);
        REQUIRE(classify_key(*key) == KeyShape::checksum_ok);
        for (char c : key->substr(8, 30))
            ++counts[c];
        keys.insert(*key);
    }
    CHECK(keys.size() == 1000);
    // 30 000 draws over 62 characters: every character shows up (expected ~484 each), and
    // none is wildly favoured, as a modulo bias towards the first characters would be.
    CHECK(counts.size() == 62);
    for (const auto& [c, n] : counts) {
        INFO("character " << c);
        CHECK(n > 300);
        CHECK(n < 700);
    }
}

TEST_CASE("generate_key validates prefix and tenant", "[key_format]") {
    CHECK(generate_key("sk", "t")); // shortest
    CHECK(generate_key(std::string(16, 'p'), std::string(64, 't')));
    CHECK(generate_key("PK2", "Acme-Corp_eu1"));

    const std::string prefix_error = "prefix must be 1-16 characters of [A-Za-z0-9]";
    const std::string tenant_error =
        "tenant must be 1-64 characters of [A-Za-z0-9_-], starting with a letter or digit";
    for (const std::string& prefix :
         std::vector<std::string>{"", "p_k", "p-k", "pk ", std::string(17, 'p')}) {
        const auto key = generate_key(prefix, "acme");
        REQUIRE_FALSE(key);
        CHECK(key.error().message == prefix_error);
    }
    const std::vector<std::string> bad_tenants{"",          "_acme", "-acme", "acme corp",
                                               "acme.corp", "acmé",  "acme\n"};
    for (const std::string& tenant : bad_tenants) {
        const auto key = generate_key("pk", tenant);
        REQUIRE_FALSE(key);
        CHECK(key.error().message == tenant_error);
    }
    CHECK_FALSE(generate_key("pk", std::string(65, 't')));
}

TEST_CASE("classify_key tells typos from foreign keys", "[key_format]") {
    const std::string good = "pk_acme_corp_abcdefghijABCDEFGHIJ012345678932SbX0";
    CHECK(classify_key(good) == KeyShape::checksum_ok);
    CHECK(classify_key("pk_acme_0000000000000000000000000000004S86pQ") == KeyShape::checksum_ok);

    std::string typo = good;
    typo[20] = 'X'; // one character of the body
    CHECK(classify_key(typo) == KeyShape::checksum_bad);
    std::string bad_check = good;
    bad_check.back() = '1';
    CHECK(classify_key(bad_check) == KeyShape::checksum_bad);
    std::string other_tenant = good;
    other_tenant[5] = 'b'; // the tenant is covered by the checksum too
    CHECK(classify_key(other_tenant) == KeyShape::checksum_bad);

    CHECK(classify_key("") == KeyShape::other);
    CHECK(classify_key("pk_acme_abc123") == KeyShape::other);
    CHECK(classify_key(good.substr(1)) == KeyShape::checksum_bad); // "k_acme_..." still parses
    CHECK(classify_key(good.substr(0, good.size() - 1)) == KeyShape::other); // too short a tail
    CHECK(classify_key(good + "A") == KeyShape::other);                      // no '_' before body
    CHECK(classify_key("_" + good.substr(2)) == KeyShape::other);            // empty prefix
    CHECK(classify_key("pk__" + good.substr(13)) == KeyShape::other);        // empty tenant
    CHECK(classify_key("pk_acme_" + std::string(35, 'a') + "!") == KeyShape::other);
    CHECK(classify_key("pkacme_" + good.substr(13)) == KeyShape::other); // no prefix separator
}
