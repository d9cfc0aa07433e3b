// Memory freed by a reload goes back to the system (infra/free_memory.cpp).
#include "infra/free_memory.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

/// This process's anonymous resident memory (KB), from /proc/self/status.
long rss_anon_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("RssAnon:", 0) == 0)
            return std::stol(line.substr(8));
    }
    return -1;
}

} // namespace

TEST_CASE("release_free_memory gives freed heap pages back", "[free_memory]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("skipped: ASan has its own allocator");
    return;
#endif
    // What a reload leaves: an old key set's many small blocks freed, below a block still in
    // use (the new key set), so that free() alone cannot shrink the heap. Before this test
    // existed, release_free_memory() compiled to nothing (its __GLIBC__ test came before any
    // C library header) and those pages stayed resident.
    constexpr int k_blocks = 30 * 1024;
    std::vector<char*> blocks(k_blocks);
    for (char*& b : blocks) {
        b = new char[1000];
        std::memset(b, 'x', 1000);
    }
    auto pin = std::make_unique<char[]>(1000);
    std::memset(pin.get(), 'y', 1000);
    for (char* b : blocks)
        delete[] b;
    const long freed = rss_anon_kb();
    keygate::release_free_memory();
    const long released = rss_anon_kb();
    INFO("RssAnon after the frees " << freed << " KB, after release_free_memory " << released
                                    << " KB");
    CHECK(freed - released > 20 * 1024);
}
