// Golden tests of key masking (CONTRACT §7).
#include "core/key_mask.hpp"

#include <catch2/catch.hpp>

using namespace keygate;

TEST_CASE("a key is shown up to its last underscore", "[key_mask]") {
    CHECK(mask_key("pk_acme_abc123") == "pk_acme_***");
    CHECK(mask_key("pk_acme_corp_abcdefghijABCDEFGHIJ012345678932SbX0") == "pk_acme_corp_***");
    CHECK(mask_key("sk_test0001") == "***"); // 11 characters
    CHECK(mask_key("sk_test00001") == "sk_***");
}

TEST_CASE("a key shorter than 12 characters is fully hidden", "[key_mask]") {
    CHECK(mask_key("") == "***");
    CHECK(mask_key("a") == "***");
    CHECK(mask_key("pk_abc_1234") == "***");
    CHECK(mask_key("abcdefghijk") == "***");
    CHECK(mask_key("abcdefghijkl") == "abcd***");
}

TEST_CASE("a key without underscore shows its first 4 characters", "[key_mask]") {
    CHECK(mask_key("abcdefghijklmnop") == "abcd***");
    CHECK(mask_key("0123456789abcdef0123") == "0123***");
}

TEST_CASE("an underscore too close to the end does not reveal the key", "[key_mask]") {
    // Up to the last '_' would be (nearly) the whole key: masked as if there were no '_'.
    CHECK(mask_key("supersecretpassword_") == "supe***");
    CHECK(mask_key("supersecretpassword_x") == "supe***");
    CHECK(mask_key("supersecretpassword_xyz") == "supe***");
    CHECK(mask_key("supersecretpassword_wxyz") == "supersecretpassword_***");
    CHECK(mask_key("____________") == "____***");
}

TEST_CASE("non-printable and non-ASCII bytes of the kept prefix become '?'", "[key_mask]") {
    CHECK(mask_key("pk_acmé_abcdefgh") == "pk_acm??_***");
    CHECK(mask_key("pk\n\r\t_acme_abcdefgh") == "pk???_acme_***");
    CHECK(mask_key(std::string("pk\0x_acme_abcdefgh", 18)) == "pk?x_acme_***");
    CHECK(mask_key("\x1b[31mred_abcdefgh") == "?[31mred_***");
    CHECK(mask_key("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4") == "????***");
    CHECK(mask_key("pk\x7f_acme_abcdefgh") == "pk?_acme_***");
}

TEST_CASE("the hidden part is never in the mask", "[key_mask]") {
    const std::string key = "pk_acme_corp_abcdefghijABCDEFGHIJ012345678932SbX0";
    CHECK(mask_key(key).find("abcdefghij") == std::string::npos);
}
