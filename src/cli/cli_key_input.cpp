// Reading one key from standard input.
#include "cli/cli_key_input.hpp"

#include <istream>

namespace keygate::cli {

std::string read_presented_key(std::istream& in) {
    std::string key;
    char buffer[4096];
    while (key.size() <= k_max_key_bytes + 2 &&
           (in.read(buffer, sizeof buffer) || in.gcount() > 0)) {
        key.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    // Slack of two bytes for the line end removed below, one to stay over the limit.
    if (key.size() > k_max_key_bytes + 3)
        key.resize(k_max_key_bytes + 3);
    if (key.ends_with("\r\n")) {
        key.resize(key.size() - 2);
    } else if (key.ends_with('\n')) {
        key.pop_back();
    }
    return key;
}

Result<std::string> read_key(std::istream& in) {
    std::string key = read_presented_key(in);
    if (key.empty())
        return fail("no key on stdin");
    if (key.size() > k_max_key_bytes) {
        return fail("the key on stdin is longer than " + std::to_string(k_max_key_bytes) +
                    " bytes");
    }
    for (char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '\n' || byte == '\r')
            return fail("expected one key on one line of stdin");
        // A key with a control byte cannot travel in an HTTP header: hashing it would only
        // produce an entry that never matches.
        if (byte < 0x20 || byte == 0x7f)
            return fail("the key contains a control character");
    }
    return key;
}

} // namespace keygate::cli
