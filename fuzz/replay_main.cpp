// The replay driver of a fuzz target in the normal build: feeds every regular file of the
// directories (or the files) named on the command line to LLVMFuzzerTestOneInput, so that
// ctest checks the committed corpus without libFuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& arg) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
            if (entry.is_regular_file())
                files.push_back(entry.path());
        }
    } else if (std::filesystem::is_regular_file(arg)) {
        files.push_back(arg);
    }
    return files;
}

bool replay(const std::filesystem::path& file) {
    // C stdio rather than std::ifstream: GCC 12 at -O2 reports a false -Wnull-dereference
    // inside <streambuf>, and CI builds with -Werror.
    std::FILE* in = std::fopen(file.c_str(), "rb");
    if (in == nullptr) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return false;
    }
    std::vector<std::uint8_t> bytes;
    std::uint8_t chunk[65536];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, in)) > 0)
        bytes.insert(bytes.end(), chunk, chunk + n);
    const bool read_error = std::ferror(in) != 0;
    std::fclose(in);
    if (read_error) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return false;
    }
    // A heap block of exactly the input's size (vector capacity may be larger), so that a read
    // past the end is caught by ASan in a sanitizer build, as under libFuzzer.
    const std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), exact.get());
    LLVMFuzzerTestOneInput(exact.get(), bytes.size());
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        std::vector<std::filesystem::path> files = inputs_of(argv[i]);
        if (files.empty()) {
            // An empty or missing corpus would make the test pass without testing anything.
            std::fprintf(stderr, "no input in %s\n", argv[i]);
            return 1;
        }
        for (const auto& file : files) {
            if (!replay(file))
                return 1;
            ++count;
        }
    }
    std::printf("replayed %zu inputs without a failed invariant\n", count);
    return 0;
}
