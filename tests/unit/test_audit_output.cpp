#include "infra/audit_output.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const char* name) {
    return fs::temp_directory_path() /
           (std::string("keygate-output-") + std::to_string(::getpid()) + "-" + name);
}

std::string contents(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// Writes at most `budget` bytes in all, then fails with `error`; a negative budget: no limit.
AuditWriteCall limited(long& budget, int error) {
    return [&budget, error](int fd, const char* data, std::size_t size) -> long {
        if (budget == 0) {
            errno = error;
            return -1;
        }
        const std::size_t take =
            budget < 0 ? size : std::min(size, static_cast<std::size_t>(budget));
        const auto n = ::write(fd, data, take);
        if (n > 0 && budget > 0)
            budget -= n;
        return static_cast<long>(n);
    };
}

} // namespace

TEST_CASE("audit output: the rest of a cut line goes first, whatever the error", "[audit]") {
    for (const int error : {ENOSPC, EIO, EPIPE}) {
        const auto path = temp_file("rest.log");
        fs::remove(path);
        long budget = 3;
        AuditOutput output(limited(budget, error));
        output.attach(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600), true);
        auto r = output.write({R"({"a":1})", R"({"b":2})"});
        CHECK(r.error == error);
        CHECK(r.written == 0);
        CHECK(r.lost == 1); // {"b":2}; {"a":1} is cut, not lost
        CHECK(output.mid_line());
        r = output.write({R"({"c":3})"}); // still failing: the rest stays first in line
        CHECK(r.lost == 1);
        CHECK(output.mid_line());
        budget = -1;
        r = output.write({R"({"d":4})"});
        CHECK(r.error == 0);
        CHECK(r.written == 2);
        CHECK_FALSE(output.mid_line());
        output.close();
        CHECK(contents(path) == "{\"a\":1}\n{\"d\":4}\n");
        fs::remove(path);
    }
}

TEST_CASE("audit output: a cut line in a file truncated meanwhile is given up", "[audit]") {
    const auto path = temp_file("truncated.log");
    fs::remove(path);
    long budget = 4;
    AuditOutput output(limited(budget, ENOSPC));
    output.attach(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600), true);
    output.write({R"({"a":1})"});
    REQUIRE(output.mid_line());
    fs::resize_file(path, 0); // logrotate's copytruncate
    budget = -1;
    const auto r = output.write({R"({"b":2})"});
    CHECK(r.lost == 1);
    CHECK(r.written == 1);
    output.close();
    CHECK(contents(path) == "{\"b\":2}\n");
    fs::remove(path);
}

TEST_CASE("audit output: a failure on a line boundary cuts nothing", "[audit]") {
    const auto path = temp_file("boundary.log");
    fs::remove(path);
    long budget = 8; // exactly {"a":1}\n
    AuditOutput output(limited(budget, ENOSPC));
    output.attach(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600), true);
    const auto r = output.write({R"({"a":1})", R"({"b":2})"});
    CHECK(r.written == 1);
    CHECK(r.lost == 1);
    CHECK_FALSE(output.mid_line());
    const auto closed = output.close();
    CHECK(closed.lost == 0);
    CHECK(contents(path) == "{\"a\":1}\n");
    fs::remove(path);
}
