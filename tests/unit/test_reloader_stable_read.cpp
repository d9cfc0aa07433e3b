// file_still_holds: the second read of the reloader's stable-content check, compared in
// 1 MB chunks, must see every byte and the exact length.
#include "infra/stable_read.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

namespace {

struct TempFile {
    fs::path dir;
    fs::path file;

    TempFile() {
        static int counter = 0;
        dir = fs::temp_directory_path() / ("keygate-stable-read-" + std::to_string(::getpid()) +
                                           "-" + std::to_string(++counter));
        fs::create_directories(dir);
        file = dir / "keys.yaml";
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write(const std::string& text) const {
        std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
        REQUIRE(fs::file_size(file) == text.size());
    }
    bool holds(const std::string& text) const { return file_still_holds(file.string(), text); }
};

/// `size` bytes of YAML-like text that does not repeat with the chunk size.
std::string text_of_size(std::size_t size) {
    std::string text;
    text.reserve(size);
    for (std::size_t line = 0; text.size() < size; ++line)
        text += "  - id: key-" + std::to_string(line) + "\n";
    text.resize(size);
    return text;
}

/// `text` with the byte at `at` replaced by another one.
std::string changed_at(std::string text, std::size_t at) {
    text[at] = text[at] == 'x' ? 'y' : 'x';
    return text;
}

constexpr std::size_t k_chunk = k_stable_read_chunk;

} // namespace

TEST_CASE("stable read: the chunk is 1 MB", "[stable_read]") {
    CHECK(k_chunk == std::size_t{1} << 20);
}

TEST_CASE("stable read: an unchanged file still holds its text", "[stable_read]") {
    const std::size_t sizes[] = {1,           4097,        k_chunk - 1,        k_chunk,
                                 k_chunk + 1, 2 * k_chunk, 2 * k_chunk + 12345};
    for (const std::size_t size : sizes) {
        INFO("size " << size);
        TempFile f;
        const std::string text = text_of_size(size);
        f.write(text);
        CHECK(f.holds(text));
        CHECK(f.holds(text)); // the check reads the file; it does not consume or change it
    }
}

TEST_CASE("stable read: an empty file holds the empty text only", "[stable_read]") {
    TempFile f;
    f.write("");
    CHECK(f.holds(""));
    CHECK_FALSE(f.holds("x"));
    f.write("x");
    CHECK_FALSE(f.holds(""));
}

TEST_CASE("stable read: a missing file holds nothing", "[stable_read]") {
    TempFile f;
    CHECK_FALSE(f.holds(""));
    CHECK_FALSE(f.holds("api_keys: []\n"));
}

TEST_CASE("stable read: a file that grew by one byte no longer holds its text", "[stable_read]") {
    const std::size_t sizes[] = {0, 4097, k_chunk - 1, k_chunk, 2 * k_chunk, 2 * k_chunk + 12345};
    for (const std::size_t size : sizes) {
        INFO("first read " << size << " bytes");
        TempFile f;
        const std::string text = text_of_size(size);
        f.write(text + "\n");
        CHECK_FALSE(f.holds(text));
    }
}

TEST_CASE("stable read: a file that shrank by one byte no longer holds its text", "[stable_read]") {
    const std::size_t sizes[] = {
        1, 4097, k_chunk, k_chunk + 1, 2 * k_chunk, 2 * k_chunk + 1, 2 * k_chunk + 12345};
    for (const std::size_t size : sizes) {
        INFO("first read " << size << " bytes");
        TempFile f;
        const std::string text = text_of_size(size);
        f.write(text.substr(0, size - 1));
        CHECK_FALSE(f.holds(text));
    }
}

TEST_CASE("stable read: one changed byte of the same size is seen wherever it is",
          "[stable_read]") {
    const std::size_t small = 4097;
    const std::size_t large = 2 * k_chunk + 12345; // three chunks, the last one partial
    struct Case {
        const char* where;
        std::size_t size;
        std::size_t at;
    };
    const Case cases[] = {
        {"small file: first byte", small, 0},
        {"small file: middle byte", small, small / 2},
        {"small file: last byte", small, small - 1},
        {"one byte file", 1, 0},
        {"exactly one chunk: last byte", k_chunk, k_chunk - 1},
        {"large file: first byte", large, 0},
        {"large file: middle byte", large, large / 2},
        {"large file: last byte", large, large - 1},
        {"large file: last byte of the first chunk", large, k_chunk - 1},
        {"large file: first byte of the second chunk", large, k_chunk},
        {"large file: last byte of the second chunk", large, 2 * k_chunk - 1},
        {"large file: first byte of the last chunk", large, 2 * k_chunk},
        {"exactly two chunks: last byte", 2 * k_chunk, 2 * k_chunk - 1},
    };
    for (const auto& c : cases) {
        INFO(c.where << " (size " << c.size << " byte " << c.at << ")");
        TempFile f;
        const std::string text = text_of_size(c.size);
        f.write(changed_at(text, c.at));
        CHECK_FALSE(f.holds(text));
        f.write(text); // the same file written back holds it again
        CHECK(f.holds(text));
    }
}

TEST_CASE("stable read: a change across the chunk boundary is seen", "[stable_read]") {
    const std::size_t large = 2 * k_chunk + 12345;
    const std::string text = text_of_size(large);
    TempFile f;
    // The two bytes on either side of the first boundary, then of the second.
    for (const std::size_t boundary : {k_chunk, 2 * k_chunk}) {
        INFO("boundary at " << boundary);
        std::string changed = changed_at(changed_at(text, boundary - 1), boundary);
        f.write(changed);
        CHECK_FALSE(f.holds(text));
        // The same size with the bytes around the boundary shifted by one: a byte taken out
        // just before it and another put in just after it.
        std::string shifted = text;
        shifted.erase(boundary - 1, 1);
        shifted.insert(boundary, 1, 'Z');
        REQUIRE(shifted.size() == text.size());
        f.write(shifted);
        CHECK_FALSE(f.holds(text));
    }
}
