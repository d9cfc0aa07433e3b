// The text-level edit behind `keygate rotate --write`, driven directly.
#include "cli/cli_key_file_edit.hpp"

#include <catch2/catch.hpp>

using namespace keygate::cli;

namespace {

const std::string k_new = "sha256:" + std::string(64, 'b');
const std::string k_old = "sha256:" + std::string(64, 'a');
const std::string k_expires = "2030-01-08T00:00:00Z";

SecretRotation rotation_at(int line) {
    SecretRotation r;
    r.entry_line = line;
    r.new_key_hash = k_new;
    r.retired = {k_old, k_expires};
    r.pin_id = "pinned";
    return r;
}

} // namespace

TEST_CASE("an entry is found from its lone dash line too", "[cli_key_file_edit]") {
    const std::string text = "api_keys:\n"
                             "  -\n"
                             "    key: \"x\"\n"
                             "    role: admin\n";
    const auto edited = apply_secret_rotation(text, rotation_at(2));
    REQUIRE(edited);
    CHECK(edited->first_line == 2);
    CHECK(edited->text == "api_keys:\n"
                          "  -\n"
                          "    key_hash: \"" +
                              k_new +
                              "\"\n"
                              "    id: \"pinned\"\n"
                              "    role: admin\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              k_old + "\", expires_at: " + k_expires + "}\n");
    CHECK(edited->entry_text == edited->text.substr(std::string("api_keys:\n").size()));
}

TEST_CASE("a multi-line key value is replaced whole", "[cli_key_file_edit]") {
    const std::string text = "api_keys:\n"
                             "- id: folded\n"
                             "  key: >-\n"
                             "    pk_folded\n"
                             "  # kept comment\n"
                             "  role: admin\n"
                             "  previous_keys:\n"
                             "  - key_hash: \"" +
                             k_old +
                             "\"\n"
                             "    expires_at: 2020-01-01\n"
                             "other: 1\n";
    SecretRotation r = rotation_at(2);
    r.retired.key_hash = "sha256:" + std::string(64, 'c');
    const auto edited = apply_secret_rotation(text, r);
    REQUIRE(edited);
    CHECK(edited->text == "api_keys:\n"
                          "- id: folded\n"
                          "  key_hash: \"" +
                              k_new +
                              "\"\n"
                              "  # kept comment\n"
                              "  role: admin\n"
                              "  previous_keys:\n"
                              "  - key_hash: \"" +
                              k_old +
                              "\"\n"
                              "    expires_at: 2020-01-01\n"
                              "  - {key_hash: \"sha256:" +
                              std::string(64, 'c') +
                              "\", expires_at: 2030-01-08T00:00:00Z}\n"
                              "other: 1\n");
}

TEST_CASE("an empty previous_keys value is rewritten from the loaded list", "[cli_key_file_edit]") {
    const std::string text = "api_keys:\n"
                             "  - key_hash: \"" +
                             k_old +
                             "\"\n"
                             "    previous_keys: []   # none yet\n"
                             "    role: admin\n";
    const auto edited = apply_secret_rotation(text, rotation_at(2));
    REQUIRE(edited);
    CHECK(edited->text == "api_keys:\n"
                          "  - key_hash: \"" +
                              k_new +
                              "\"\n"
                              "    id: \"pinned\"\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              k_old + "\", expires_at: " + k_expires +
                              "}\n"
                              "    role: admin\n");
}

TEST_CASE("what cannot be edited is refused", "[cli_key_file_edit]") {
    const std::string text = "api_keys:\n"
                             "  - {key: x, role: admin}\n"
                             "  - key: a\n"
                             "    key_hash: \"" +
                             k_old +
                             "\"\n"
                             "  - role: admin\n";
    const auto message = [&](int line) {
        const auto edited = apply_secret_rotation(text, rotation_at(line));
        REQUIRE_FALSE(edited);
        return edited.error().message;
    };
    CHECK(message(0) == "the entry at line 0 is outside the file");
    CHECK(message(6) == "the entry at line 6 is outside the file");
    CHECK(message(2) == "the entry at line 2 is written in flow style ({...}); rotate edits "
                        "block-style entries only: apply the printed entry by hand");
    CHECK(message(3) == "the entry at line 3 does not have exactly one key or key_hash");
    CHECK(message(5) == "the entry at line 5 does not have exactly one key or key_hash");
    CHECK(apply_secret_rotation("a:\n  -\n", rotation_at(2)).error().message ==
          "the entry at line 2 is not a mapping");
    CHECK(apply_secret_rotation("a:\n  - plain\n", rotation_at(2)).error().message ==
          "the entry at line 2 is not a mapping");
}
