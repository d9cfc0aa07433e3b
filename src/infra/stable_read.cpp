// Comparing a file against a text read earlier, chunk by chunk.
#include "infra/stable_read.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace keygate {

bool file_still_holds(const std::string& path, std::string_view text) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    std::vector<char> chunk(k_stable_read_chunk);
    std::size_t compared = 0;
    bool same = true;
    while (same) {
        const ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            same = n == 0 && compared == text.size(); // read to the end, and no shorter
            break;
        }
        const auto got = static_cast<std::size_t>(n);
        same = compared + got <= text.size() &&
               std::memcmp(chunk.data(), text.data() + compared, got) == 0;
        compared += got;
    }
    ::close(fd);
    return same;
}

} // namespace keygate
