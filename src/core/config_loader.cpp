// Loads a key file: refuses what must not reach the YAML parser (too large, binary, empty),
// parses it into a tree with places, then reads and checks every section.
#include "core/config_loader.hpp"

#include "core/config_sections.hpp"
#include "core/yaml_document.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace keygate {
namespace {

constexpr const char* k_no_keys_hint = " (write 'api_keys: []' to mean no keys)";

std::string too_large(std::uint64_t size, const LoadOptions& options) {
    return "file too large (" + std::to_string(size) + " bytes; the limit is " +
           std::to_string(options.max_file_bytes) + ")";
}

/// strerror in the lower case of the other messages.
std::string errno_text(int error) {
    std::string text = std::strerror(error);
    if (!text.empty())
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

/// Closes a file descriptor on every path out.
struct FileCloser {
    explicit FileCloser(int descriptor) : fd(descriptor) {}
    int fd;
    FileCloser(const FileCloser&) = delete;
    FileCloser& operator=(const FileCloser&) = delete;
    ~FileCloser() { ::close(fd); }
};

/// The 1-based line and byte column of offset `pos`.
SourcePlace place_of(std::string_view text, std::size_t pos) {
    const std::string_view before = text.substr(0, pos);
    const auto line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? pos + 1 : pos - line_start;
    return {line, static_cast<int>(column)};
}

/// Length of the valid UTF-8 sequence at `pos` (RFC 3629: no overlongs, no surrogates,
/// nothing past U+10FFFF), or 0.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char c = byte(pos);
    if (c < 0x80)
        return 1;
    // The length the lead byte announces, and the range of the second byte (narrower than
    // 80..BF after E0, ED, F0 and F4: that excludes overlongs, surrogates and > U+10FFFF).
    struct Lead {
        unsigned char first, last;
        std::size_t length;
        unsigned char low, high;
    };
    static constexpr Lead k_leads[] = {
        {0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf}, {0xe1, 0xec, 3, 0x80, 0xbf},
        {0xed, 0xed, 3, 0x80, 0x9f}, {0xee, 0xef, 3, 0x80, 0xbf}, {0xf0, 0xf0, 4, 0x90, 0xbf},
        {0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
    };
    for (const Lead& lead : k_leads) {
        if (c < lead.first || c > lead.last)
            continue;
        if (pos + lead.length > text.size())
            return 0;
        if (byte(pos + 1) < lead.low || byte(pos + 1) > lead.high)
            return 0;
        for (std::size_t i = 2; i < lead.length; ++i) {
            if (byte(pos + i) < 0x80 || byte(pos + i) > 0xbf)
                return 0;
        }
        return lead.length;
    }
    return 0;
}

/// The checks that keep the parser from ever seeing a huge, binary or empty file. True
/// when the text may be parsed.
bool precheck(std::string_view text, const LoadOptions& options, DiagnosticCollector& out) {
    if (text.size() > options.max_file_bytes) {
        out.error({}, too_large(text.size(), options));
        return false;
    }
    if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
        out.error({1, 1}, "file is utf-16 or utf-32 (save it as utf-8)");
        return false;
    }
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
        out.error(place_of(text, nul), "file contains a NUL byte (is it a binary file?)");
        return false;
    }
    bool blank = true;
    const std::size_t start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0; // a UTF-8 byte order mark
    for (std::size_t pos = start; pos < text.size();) {
        const auto c = static_cast<unsigned char>(text[pos]);
        if (c < 0x80) {
            // ASCII, the common case, without a call per byte.
            blank = blank && (c == ' ' || c == '\t' || c == '\r' || c == '\n');
            ++pos;
            continue;
        }
        const std::size_t length = utf8_sequence_length(text, pos);
        if (length == 0) {
            out.error(place_of(text, pos), "file is not valid utf-8 (is it a binary file?)");
            return false;
        }
        blank = false;
        pos += length;
    }
    if (blank) {
        // A truncated or half-written file must never load as "no keys".
        out.error({1, 1}, std::string("file is empty") + k_no_keys_hint);
        return false;
    }
    return true;
}

/// Reads the Config out of the tree. With `stream`, the entries of `api_keys` are those it
/// read during the parse (when it streamed that list); `stale` is then set when they were
/// checked against other roles than the final ones (a `roles:` after `api_keys:`).
Config read_config(const loader::Reader& r, yaml::NodeId root, const LoadOptions& options,
                   loader::ApiKeyStream* stream, bool& stale) {
    using loader::NodeId;
    Config config;
    config.roles = builtin_roles();
    NodeId settings = yaml::k_no_node;
    NodeId roles = yaml::k_no_node;
    NodeId tenants = yaml::k_no_node;
    NodeId routes = yaml::k_no_node;
    NodeId api_keys = yaml::k_no_node;
    r.fields(root, {"version", "settings", "roles", "tenants", "routes", "api_keys"}, "",
             [&](std::string_view name, NodeId, NodeId v) {
                 if (name == "version") {
                     const auto version = r.integer(v, name, 0);
                     if (version && *version != 1) {
                         r.out().error(r.place(v), "unsupported version " +
                                                       std::to_string(*version) +
                                                       " (this keygate reads version 1)");
                     }
                 } else if (name == "settings") {
                     settings = v;
                 } else if (name == "roles") {
                     roles = v;
                 } else if (name == "tenants") {
                     tenants = v;
                 } else if (name == "routes") {
                     routes = v;
                 } else {
                     api_keys = v;
                 }
             });

    // An optional section written with no value ("routes:") is the same as absent.
    const auto present = [&](NodeId n) { return n != yaml::k_no_node && !r.is_null(n); };
    bool has_trusted_proxies = false;
    if (present(settings) && r.expect_map(settings, "settings")) {
        config.settings = loader::read_settings(r, settings, has_trusted_proxies);
    }
    if (!has_trusted_proxies)
        config.settings.trusted_proxies = default_trusted_proxies();
    if (present(roles) && r.expect_map(roles, "roles"))
        loader::read_roles(r, roles, config.roles);
    if (present(tenants) && r.expect_map(tenants, "tenants")) {
        config.tenants = loader::read_tenants(r, tenants);
    }
    if (present(routes) && r.expect_list(routes, "routes")) {
        config.routes = loader::read_routes(r, routes);
    }

    if (api_keys == yaml::k_no_node) {
        // A file cut short before its keys must not load as "no keys".
        r.out().error(r.place(root), std::string("missing 'api_keys'") + k_no_keys_hint);
    } else if (r.is_null(api_keys)) {
        r.out().error(r.place(api_keys), std::string("'api_keys' has no value") + k_no_keys_hint);
    } else if (r.expect_list(api_keys, "api_keys")) {
        if (stream != nullptr && stream->sequence() == api_keys) {
            stale = !stream->roles_match(config.roles);
            config.api_keys = stream->take_entries();
        } else {
            config.api_keys = loader::read_api_keys(r, api_keys, config.roles, options);
        }
    }
    return config;
}

/// Parses `text` and reads the Config out of it; nullopt when anything was an error.
std::optional<Config> load_document(std::string_view text, const LoadOptions& options,
                                    DiagnosticCollector& out, loader::ApiKeyStream* stream,
                                    bool& stale) {
    const auto doc = yaml::parse_document(text, out, {}, stream);
    if (doc && (doc->root() == yaml::k_no_node || (doc->kind(doc->root()) == yaml::NodeKind::null &&
                                                   doc->text(doc->root()).empty()))) {
        // Only comments, or a bare "---": as empty as a 0-byte file.
        out.error({1, 1}, std::string("file is empty") + k_no_keys_hint);
    } else if (doc) {
        const loader::Reader reader(*doc, out);
        if (doc->kind(doc->root()) != yaml::NodeKind::map) {
            reader.wrong_type(doc->root(), "the top level", "a map");
        } else {
            Config config = read_config(reader, doc->root(), options, stream, stale);
            if (!out.has_errors() && !stale)
                return config;
        }
    }
    return std::nullopt;
}

} // namespace

LoadResult load_config_text(std::string_view text, const LoadOptions& options) {
    LoadResult result;
    try {
        DiagnosticCollector out;
        if (precheck(text, options, out)) {
            // The api_keys entries are read while the parse streams them (no tree of every
            // key); in the rare file whose `roles:` come after them, everything is read again
            // from a whole tree.
            const DiagnosticCollector::Mark before = out.mark();
            bool stale = false;
            if (options.stream_api_keys) {
                // A key entry takes at least ~80 bytes ("- key_hash: sha256:<64 hex>"); a
                // real one with a few fields several hundred. Reserved, untouched room
                // costs no memory.
                loader::ApiKeyStream stream(out, options, text.size() / 400 + 16);
                result.config = load_document(text, options, out, &stream, stale);
            }
            if (stale || !options.stream_api_keys) {
                out.rollback(before);
                stale = false;
                result.config = load_document(text, options, out, nullptr, stale);
            }
        }
        result.diagnostics = out.take();
    } catch (const std::bad_alloc&) {
        result.config.reset();
        result.diagnostics = Diagnostics{};
        result.diagnostics.error(0, 0, "out of memory while loading the file");
    } catch (...) {
        // Nothing may escape the loader; a bug here must still fail the load, not the process.
        result.config.reset();
        result.diagnostics = Diagnostics{};
        result.diagnostics.error(0, 0, "internal error while loading the file");
    }
    return result;
}

std::optional<std::string> read_key_file(const std::string& path, const LoadOptions& options,
                                         std::string& error, int* error_number) {
    const auto fail_with = [&](std::string message, int number = 0) -> std::optional<std::string> {
        error = std::move(message);
        if (error_number != nullptr)
            *error_number = number;
        return std::nullopt;
    };
    // "cannot open the file (Too many open files)": the errno is read before anything else runs.
    const auto fail_errno = [&](const char* what) -> std::optional<std::string> {
        const int number = errno;
        return fail_with(std::string(what) + " (" + errno_text(number) + ")", number);
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
    const int fd =
        ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (options.regular_files_only ? O_NONBLOCK : 0));
    if (fd < 0)
        return fail_errno("cannot open the file");
    const FileCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return fail_errno("cannot read the file");
    if (S_ISDIR(st.st_mode))
        return fail_with("cannot read the file (it is a directory)");
    if (options.regular_files_only && !S_ISREG(st.st_mode)) {
        const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a regular file";
        return fail_with(std::string("cannot read the file (it is ") + kind +
                         "; only a regular file is read)");
    }
    // The size check comes before reading, so a huge file is never read whole.
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > options.max_file_bytes) {
        return fail_with(too_large(static_cast<std::uint64_t>(st.st_size), options));
    }
    std::string text;
    try {
        // Read straight into the string: one copy of the file in memory, never two.
        std::size_t capacity =
            S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) + 1 : std::size_t{64} * 1024;
        // Stops one byte past the limit: a pipe or a growing file is never read whole.
        while (text.size() <= options.max_file_bytes) {
            if (text.size() == capacity)
                capacity *= 2;
            const std::size_t used = text.size();
            text.resize(capacity);
            const ssize_t n = ::read(fd, text.data() + used, capacity - used);
            text.resize(n > 0 ? used + static_cast<std::size_t>(n) : used);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return fail_errno("cannot read the file");
            if (n == 0)
                break;
        }
    } catch (const std::bad_alloc&) {
        return fail_with("out of memory while reading the file", ENOMEM);
    }
    return text;
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
    std::string error;
    auto text = read_key_file(path, options, error);
    if (!text) {
        LoadResult result;
        result.diagnostics.error(0, 0, std::move(error));
        return result;
    }
    return load_config_text(*text, options);
}

} // namespace keygate
