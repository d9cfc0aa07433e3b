// The names whose events can change what the key file's path resolves to.
#include "infra/symlink_chain.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("keygate-chain-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

using Names = std::vector<std::string>;

} // namespace

TEST_CASE("symlink chain: a regular file is its own name only", "[watcher]") {
    TempDir d;
    std::ofstream(d.path / "keys.yaml") << "x";
    CHECK(names_resolving((d.path / "keys.yaml").string(), d.path.string()) == Names{"keys.yaml"});
    // A file that does not exist (yet) is still watched by its name.
    CHECK(names_resolving((d.path / "gone.yaml").string(), d.path.string()) == Names{"gone.yaml"});
}

TEST_CASE("symlink chain: a Kubernetes ConfigMap volume adds ..data", "[watcher]") {
    TempDir d;
    fs::create_directory(d.path / "..2026_01_01_00_00_00.1");
    std::ofstream(d.path / "..2026_01_01_00_00_00.1" / "keys.yaml") << "x";
    fs::create_directory_symlink("..2026_01_01_00_00_00.1", d.path / "..data");
    fs::create_symlink("..data/keys.yaml", d.path / "keys.yaml");
    CHECK(names_resolving((d.path / "keys.yaml").string(), d.path.string()) ==
          Names{"keys.yaml", "..data"});
}

TEST_CASE("symlink chain: hops in the directory count, hops elsewhere do not", "[watcher]") {
    TempDir d;
    TempDir elsewhere;
    std::ofstream(elsewhere.path / "real.yaml") << "x";
    fs::create_symlink(elsewhere.path / "real.yaml", d.path / "v2.yaml"); // absolute, outside
    fs::create_symlink(d.path / "v2.yaml", d.path / "current.yaml");      // absolute, inside
    fs::create_symlink("current.yaml", d.path / "keys.yaml");             // relative, inside
    CHECK(names_resolving((d.path / "keys.yaml").string(), d.path.string()) ==
          Names{"keys.yaml", "current.yaml", "v2.yaml"});
}

TEST_CASE("symlink chain: a loop ends the chain", "[watcher]") {
    TempDir d;
    fs::create_symlink("b.yaml", d.path / "a.yaml");
    fs::create_symlink("a.yaml", d.path / "b.yaml");
    CHECK(names_resolving((d.path / "a.yaml").string(), d.path.string()) ==
          Names{"a.yaml", "b.yaml"});
}
