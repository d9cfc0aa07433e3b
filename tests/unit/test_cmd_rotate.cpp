// `keygate rotate`: the new secret, the text-level edit of the entry, and --write on temp files.
#include "cli/commands.hpp"
#include "core/config_loader.hpp"
#include "core/digest.hpp"
#include "core/key_format.hpp"
#include "core/time.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <vector>

using namespace keygate;
using namespace keygate::cli;
namespace fs = std::filesystem;

namespace {

/// A fresh directory per test, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "keygate-rotate-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path file(const std::string& name) const { return path_ / name; }

  private:
    fs::path path_;
};

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> entries_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct Run {
    int code = -1;
    std::string out;
    std::string err;
    std::vector<std::string> lines; ///< of out
};

Run rotate(const Args& args) {
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = run_rotate(args, out, err);
    run.out = out.str();
    run.err = err.str();
    std::istringstream in(run.out);
    for (std::string line; std::getline(in, line);)
        run.lines.push_back(line);
    return run;
}

std::string hash_of(const std::string& key) {
    return "sha256:" + to_hex(sha256(key));
}

// Obviously fake keys; their digests are computed, never pasted.
const std::string k_acme_key = "pk_acme_test0001-not-a-real-key-000000000000";
const std::string k_globex_key = "pk_globex_test0002-not-a-real-key-00000000000";
const std::string k_globex_old = "pk_globex_test0003-not-a-real-key-00000000000";
const std::string k_admin_key = "pk_admin_test0004-not-a-real-key-000000000000";

const std::string k_head = "# keys for the rotate tests\n"
                           "version: 1\n"
                           "settings:\n"
                           "  grace_period: 0s   # no automatic grace\n"
                           "\n"
                           "api_keys:\n"
                           "  # the analysts\n";
const std::string k_acme_entry = "  - id: acme-analysts\n"
                                 "    key: \"" +
                                 k_acme_key +
                                 "\"   # plaintext, to be rotated\n"
                                 "    tenant: acme_corp\n"
                                 "    role: analyst\n"
                                 "    allowed_datasets: [orders]\n";
const std::string k_middle = "\n"
                             "  # globex, already rotated once\n";
const std::string k_globex_entry = "  - id: globex-viewer\n"
                                   "    key_hash: \"" +
                                   hash_of(k_globex_key) +
                                   "\"\n"
                                   "    tenant: globex\n"
                                   "    role: viewer\n"
                                   "    previous_keys:\n"
                                   "      - {key_hash: \"" +
                                   hash_of(k_globex_old) +
                                   "\", expires_at: 2030-01-01T00:00:00Z}\n"
                                   "    # a comment inside the entry\n"
                                   "    description: \"Globex\"\n";
const std::string k_admin_entry = "  - key_hash: \"" + hash_of(k_admin_key) +
                                  "\"\n"
                                  "    role: admin\n";
const std::string k_tail = "# end of file\n";
const std::string k_file =
    k_head + k_acme_entry + k_middle + k_globex_entry + k_admin_entry + k_tail;

/// What the first lines of rotate's output say.
struct Printed {
    std::string key;
    std::string hash;
    std::string expires_at;
};

Printed printed(const Run& run, const std::string& id) {
    REQUIRE(run.lines.size() >= 5);
    CHECK(run.lines[0] ==
          "# new key for '" + id + "': shown once, store it in your secret manager now");
    Printed p;
    p.key = run.lines[1];
    p.hash = run.lines[2];
    CHECK(classify_key(p.key) == KeyShape::checksum_ok);
    CHECK(p.hash == hash_of(p.key));
    const std::string until = "# the old secret stays valid until ";
    REQUIRE(run.lines[3].starts_with(until));
    p.expires_at = run.lines[3].substr(until.size(), 20);
    return p;
}

Config load(const std::string& text) {
    LoadOptions options;
    options.now = now_ms();
    const LoadResult loaded = load_config_text(text, options);
    INFO(text);
    for (const auto& d : loaded.diagnostics.items) {
        UNSCOPED_INFO(d.line << ":" << d.column << " " << d.message);
    }
    REQUIRE(loaded.config);
    return *loaded.config;
}

const KeyEntry& entry_with_id(const Config& config, const std::string& id) {
    for (const KeyEntry& entry : config.api_keys) {
        if (entry.id == id)
            return entry;
    }
    FAIL("no entry " << id);
    throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("rotate prints the new key and the updated entry, file untouched", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    write_file(path, k_file);
    const TimePoint before = std::chrono::floor<std::chrono::seconds>(now_ms());
    const Run run = rotate({"--config", path.string(), "--id", "acme-analysts"});
    const TimePoint after = now_ms();
    REQUIRE(run.code == k_exit_ok);
    CHECK(run.err.empty());
    const Printed p = printed(run, "acme-analysts");
    CHECK(p.key.starts_with("pk_acme_corp_"));

    const auto expires = parse_timestamp(p.expires_at);
    REQUIRE(expires);
    CHECK(*expires >= before + std::chrono::days(7));
    CHECK(*expires <= after + std::chrono::days(7));
    CHECK(run.lines[3] == "# the old secret stays valid until " + p.expires_at + " (grace 7d)");
    CHECK(run.lines[4] == "# updated entry (" + path.string() + ", line 8):");

    const std::string entry = "  - id: acme-analysts\n"
                              "    key_hash: \"" +
                              p.hash +
                              "\"\n"
                              "    tenant: acme_corp\n"
                              "    role: analyst\n"
                              "    allowed_datasets: [orders]\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              hash_of(k_acme_key) + "\", expires_at: " + p.expires_at + "}\n";
    CHECK(run.out == run.lines[0] + "\n" + p.key + "\n" + p.hash + "\n" + run.lines[3] + "\n" +
                         run.lines[4] + "\n" + entry + "# " + path.string() +
                         " was not changed: replace the entry with the one above, or rotate "
                         "again with --write\n");
    CHECK(read_file(path) == k_file);
    // The old plaintext is not printed again.
    CHECK(run.out.find(k_acme_key) == std::string::npos);
}

TEST_CASE("rotate --write edits only the entry and keeps the rest byte for byte", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    write_file(path, k_file);
    const Run run = rotate({"--config", path.string(), "--id", "acme-analysts", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "acme-analysts");
    CHECK(run.lines.back() == "# " + path.string() + " updated");

    const std::string entry = "  - id: acme-analysts\n"
                              "    key_hash: \"" +
                              p.hash +
                              "\"\n"
                              "    tenant: acme_corp\n"
                              "    role: analyst\n"
                              "    allowed_datasets: [orders]\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              hash_of(k_acme_key) + "\", expires_at: " + p.expires_at + "}\n";
    const std::string written = read_file(path);
    CHECK(written == k_head + entry + k_middle + k_globex_entry + k_admin_entry + k_tail);
    // No temporary file is left behind.
    CHECK(entries_in(path.parent_path()) == std::vector<std::string>{"keys.yaml"});

    // Both the new key and the old one (until the grace ends) belong to the entry.
    const Config config = load(written);
    const KeyEntry& rotated = entry_with_id(config, "acme-analysts");
    CHECK(rotated.secret == SecretDigest{HashKind::sha256, sha256(p.key)});
    CHECK_FALSE(rotated.secret_was_plaintext);
    REQUIRE(rotated.previous_keys.size() == 1);
    CHECK(rotated.previous_keys[0].secret == SecretDigest{HashKind::sha256, sha256(k_acme_key)});
    CHECK(format_timestamp(rotated.previous_keys[0].expires_at) == p.expires_at);
}

TEST_CASE("rotate appends to a block previous_keys list and keeps comments", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    write_file(path, k_file);
    const Run run =
        rotate({"--config", path.string(), "--id", "globex-viewer", "--grace", "1h", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "globex-viewer");
    CHECK(p.key.starts_with("pk_globex_"));
    CHECK(run.lines[3] == "# the old secret stays valid until " + p.expires_at + " (grace 1h)");
    const auto expires = parse_timestamp(p.expires_at);
    REQUIRE(expires);
    CHECK(*expires > now_ms() + std::chrono::minutes(59));
    CHECK(*expires <= now_ms() + std::chrono::hours(1));

    const std::string entry = "  - id: globex-viewer\n"
                              "    key_hash: \"" +
                              p.hash +
                              "\"\n"
                              "    tenant: globex\n"
                              "    role: viewer\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              hash_of(k_globex_old) +
                              "\", expires_at: 2030-01-01T00:00:00Z}\n"
                              "      - {key_hash: \"" +
                              hash_of(k_globex_key) + "\", expires_at: " + p.expires_at +
                              "}\n"
                              "    # a comment inside the entry\n"
                              "    description: \"Globex\"\n";
    CHECK(read_file(path) == k_head + k_acme_entry + k_middle + entry + k_admin_entry + k_tail);
    const Config config = load(read_file(path));
    CHECK(entry_with_id(config, "globex-viewer").previous_keys.size() == 2);
}

TEST_CASE("rotate pins the default id of an entry without one", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    write_file(path, k_file);
    const std::string id = "k-" + to_hex(sha256(k_admin_key)).substr(0, 12);
    const Run run = rotate({"--config", path.string(), "--id", id, "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, id);
    // An entry without a tenant gets "admin" as the key's label.
    CHECK(p.key.starts_with("pk_admin_"));
    const std::string entry = "  - key_hash: \"" + p.hash +
                              "\"\n"
                              "    id: \"" +
                              id +
                              "\"\n"
                              "    role: admin\n"
                              "    previous_keys:\n"
                              "      - {key_hash: \"" +
                              hash_of(k_admin_key) + "\", expires_at: " + p.expires_at + "}\n";
    CHECK(read_file(path) == k_head + k_acme_entry + k_middle + k_globex_entry + entry + k_tail);
    CHECK(entry_with_id(load(read_file(path)), id).secret ==
          SecretDigest{HashKind::sha256, sha256(p.key)});
}

TEST_CASE("rotate rewrites a flow previous_keys list as a block list", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    const std::string head = "api_keys:\n";
    const std::string tail =
        "  - {id: other, key_hash: \"" + hash_of(k_admin_key) + "\", role: admin}\n";
    const std::string text = head + "  - previous_keys: [{key_hash: \"" + hash_of(k_globex_old) +
                             "\", expires_at: 2030-01-01}, {key_hash: \"" + hash_of(k_acme_key) +
                             "\", expires_at: \"2031-02-03T04:05:06.250Z\"}]   # flow\n"
                             "    id: flow-list\n"
                             "    key_hash: \"" +
                             hash_of(k_globex_key) +
                             "\"\n"
                             "    tenant: \"globex.eu\"\n"
                             "    role: viewer\n" +
                             tail;
    write_file(path, text);
    const Run run = rotate({"--config", path.string(), "--id", "flow-list", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "flow-list");
    // Characters the key format does not allow in a tenant become '-'.
    CHECK(p.key.starts_with("pk_globex-eu_"));
    const std::string entry = "  - previous_keys:\n"
                              "      - {key_hash: \"" +
                              hash_of(k_globex_old) +
                              "\", expires_at: 2030-01-01T00:00:00Z}\n"
                              "      - {key_hash: \"" +
                              hash_of(k_acme_key) +
                              "\", expires_at: 2031-02-03T04:05:06.250Z}\n"
                              "      - {key_hash: \"" +
                              hash_of(k_globex_key) + "\", expires_at: " + p.expires_at +
                              "}\n"
                              "    id: flow-list\n"
                              "    key_hash: \"" +
                              p.hash +
                              "\"\n"
                              "    tenant: \"globex.eu\"\n"
                              "    role: viewer\n";
    CHECK(read_file(path) == head + entry + tail);
}

TEST_CASE("rotate writes a sub-second grace in whole seconds", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    write_file(path, k_file);
    const TimePoint before = now_ms();
    const Run run = rotate(
        {"--config", path.string(), "--id", "globex-viewer", "--grace", "1500ms", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "globex-viewer");
    CHECK(run.lines[3] == "# the old secret stays valid until " + p.expires_at + " (grace 1500ms)");
    const auto expires = parse_timestamp(p.expires_at);
    REQUIRE(expires);
    const auto grace = std::chrono::milliseconds(1500);
    CHECK(*expires >= std::chrono::floor<std::chrono::seconds>(before + grace));
    CHECK(*expires <= now_ms() + grace);
}

TEST_CASE("rotate keeps CRLF line endings and a missing final newline", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    const std::string text = "api_keys:\r\n"
                             "  - id: crlf\r\n"
                             "    key_hash: \"" +
                             hash_of(k_globex_key) +
                             "\"  # old\r\n"
                             "    role: admin";
    write_file(path, text);
    const Run run = rotate({"--config", path.string(), "--id", "crlf", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "crlf");
    CHECK(read_file(path) == "api_keys:\r\n"
                             "  - id: crlf\r\n"
                             "    key_hash: \"" +
                                 p.hash +
                                 "\"\r\n"
                                 "    role: admin\r\n"
                                 "    previous_keys:\r\n"
                                 "      - {key_hash: \"" +
                                 hash_of(k_globex_key) + "\", expires_at: " + p.expires_at + "}");
    // The printed entry still ends its last line.
    CHECK(run.out.find(p.expires_at + "}\n# " + path.string() + " updated\n") != std::string::npos);
}

TEST_CASE("rotate finds an entry whose dash stands alone on its line", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");
    const std::string text = "api_keys:\n"
                             "  -   # the admin\n"
                             "    id: lone\n"
                             "    key_hash: \"" +
                             hash_of(k_admin_key) +
                             "\"\n"
                             "    role: admin\n"
                             "\n"
                             "# trailing comment\n";
    write_file(path, text);
    const Run run = rotate({"--config", path.string(), "--id", "lone", "--write"});
    REQUIRE(run.code == k_exit_ok);
    const Printed p = printed(run, "lone");
    CHECK(run.lines[4] == "# updated entry (" + path.string() + ", line 2):");
    CHECK(read_file(path) == "api_keys:\n"
                             "  -   # the admin\n"
                             "    id: lone\n"
                             "    key_hash: \"" +
                                 p.hash +
                                 "\"\n"
                                 "    role: admin\n"
                                 "    previous_keys:\n"
                                 "      - {key_hash: \"" +
                                 hash_of(k_admin_key) + "\", expires_at: " + p.expires_at +
                                 "}\n"
                                 "\n"
                                 "# trailing comment\n");
}

TEST_CASE("rotate --write goes through a symlink and keeps the file's mode", "[cmd_rotate]") {
    TempDir dir;
    fs::create_directory(dir.file("data"));
    const fs::path target = dir.file("data") / "keys.yaml";
    write_file(target, k_file);
    REQUIRE(::chmod(target.c_str(), 0640) == 0);
    const fs::path link = dir.file("keys.yaml");
    fs::create_symlink(target, link);

    const Run run = rotate({"--config", link.string(), "--id", "acme-analysts", "--write"});
    REQUIRE(run.code == k_exit_ok);
    CHECK(fs::is_symlink(link));
    CHECK(read_file(target) != k_file);
    CHECK(read_file(target).starts_with(k_head));
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(entries_in(dir.file("data")) == std::vector<std::string>{"keys.yaml"});
}

TEST_CASE("rotate refuses what it cannot edit and leaves the file untouched", "[cmd_rotate]") {
    TempDir dir;
    const fs::path path = dir.file("keys.yaml");

    SECTION("a flow-style entry") {
        const std::string text =
            "api_keys:\n  - {id: flow, key_hash: \"" + hash_of(k_admin_key) + "\", role: admin}\n";
        write_file(path, text);
        const Run run = rotate({"--config", path.string(), "--id", "flow", "--write"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate rotate: the entry at line 2 is written in flow style ({...}); "
                         "rotate edits block-style entries only: apply the printed entry by "
                         "hand\n");
        CHECK(read_file(path) == text);
    }
    SECTION("an unknown id") {
        write_file(path, k_file);
        const Run run = rotate({"--config", path.string(), "--id", "nope", "--write"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate rotate: no key with id 'nope' in " + path.string() + "\n");
        CHECK(read_file(path) == k_file);
    }
    SECTION("an invalid file") {
        const std::string text = "api_keys:\n  - id: bad\n    key_hash: \"sha256:abc\"\n"
                                 "    role: admin\n";
        write_file(path, text);
        const Run run = rotate({"--config", path.string(), "--id", "bad", "--write"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.out.empty());
        CHECK(run.err.find(path.string() + ":3:") == 0);
        CHECK(run.err.ends_with("keygate rotate: " + path.string() +
                                " is not valid; fix it first\n"));
        CHECK(read_file(path) == text);
    }
    SECTION("a missing file") {
        const Run run = rotate({"--config", path.string(), "--id", "x"});
        CHECK(run.code == k_exit_failed);
        CHECK(run.err == "keygate rotate: cannot read " + path.string() + "\n");
    }
    CHECK(entries_in(dir.file("")).size() <= 1);
}

TEST_CASE("rotate usage errors exit 2", "[cmd_rotate]") {
    const std::string usage = "usage: keygate rotate --config PATH --id KEY_ID [--grace DURATION] "
                              "[--prefix pk] [--write]\n";
    const auto check_usage = [&](const Args& args, const std::string& message) {
        const Run run = rotate(args);
        CHECK(run.code == k_exit_usage);
        CHECK(run.out.empty());
        CHECK(run.err == "keygate rotate: " + message + "\n" + usage);
    };
    check_usage({"--id", "a"}, "--config is required");
    check_usage({"--config", "keys.yaml"}, "--id is required");
    check_usage({"--config", "keys.yaml", "--id"}, "option '--id' needs a value");
    check_usage({"--config", "keys.yaml", "--id", "a", "--force"}, "unknown option '--force'");
    check_usage({"--config", "keys.yaml", "--id", "a", "extra"}, "unexpected argument 'extra'");
    const Run grace = rotate({"--config", "keys.yaml", "--id", "a", "--grace", "7 days"});
    CHECK(grace.code == k_exit_usage);
    CHECK(grace.err.starts_with("keygate rotate: --grace: "));
}
