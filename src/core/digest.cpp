// SHA-256 / HMAC-SHA256 through OpenSSL 3, and the "sha256:<hex>" text form of a secret.

// Every request hashes its key, and OpenSSL 3's EVP digest costs ~190 ns for a one-block
// input on a SHA-NI CPU, of which ~115 ns is provider dispatch; the low-level SHA256_*
// functions (deprecated in 3.0, still shipped by every 3.x) take ~75 ns. They are used
// where the library still has them; a build against an OpenSSL without them
// (OPENSSL_NO_DEPRECATED_3_0) falls back to EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/digest.hpp"

#include <cstring>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <random>

namespace keygate {

namespace {

constexpr std::string_view k_sha256_prefix = "sha256:";
constexpr std::string_view k_hmac_prefix = "hmac-sha256:";
constexpr std::size_t k_hex_length = 64;

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; // upper case is refused: one spelling per secret keeps duplicates detectable
}

/// SHA-256, fetched from the default provider once for the process (never freed: it lives
/// as long as OpenSSL). Falls back to the legacy handle, which fetches on each use.
const EVP_MD* sha256_algorithm() {
    static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
}

struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

/// One reusable digest context per thread (freed when the thread exits), or nullptr.
EVP_MD_CTX* thread_sha256_context() {
    thread_local const std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());
    return context.get();
}

} // namespace

Digest sha256(std::string_view data) {
    Digest out{};
#if !defined(OPENSSL_NO_DEPRECATED_3_0)
    SHA256_CTX state;
    if (SHA256_Init(&state) == 1 && SHA256_Update(&state, data.data(), data.size()) == 1 &&
        SHA256_Final(out.data(), &state) == 1) {
        OPENSSL_cleanse(&state, sizeof state); // it held the presented key's last block
        return out;
    }
    OPENSSL_cleanse(&state, sizeof state);
#endif
    unsigned int length = 0;
    // Every request hashes its key. EVP_sha256() makes OpenSSL 3 fetch the algorithm from
    // its provider on every EVP_Digest() (a global lock and a lookup), and a fresh context
    // costs an allocation: both are done once per thread, which cuts the hash to a fraction.
    EVP_MD_CTX* context = thread_sha256_context();
    if (context == nullptr || EVP_DigestInit_ex2(context, sha256_algorithm(), nullptr) != 1 ||
        EVP_DigestUpdate(context, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(context, out.data(), &length) != 1) {
        // Only an allocation failure gets here; the one-shot call is the fallback. The zero
        // digest a failure would leave never equals a real key's digest in practice, and the
        // core must not throw.
        EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr);
    }
    return out;
}

Digest hmac_sha256(std::string_view pepper, std::string_view data) {
    Digest out{};
    unsigned int length = 0;
    // The one-shot HMAC() is not deprecated in OpenSSL 3 (only HMAC_CTX is). An empty key
    // is passed as a non-null pointer because HMAC() treats a null key as "reuse the last".
    static const unsigned char k_empty = 0;
    const void* key = pepper.empty() ? static_cast<const void*>(&k_empty)
                                     : static_cast<const void*>(pepper.data());
    HMAC(sha256_algorithm(), key, static_cast<int>(pepper.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
    return out;
}

std::string to_hex(const Digest& d) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(d.size() * 2);
    for (std::uint8_t byte : d) {
        out.push_back(k_digits[byte >> 4]);
        out.push_back(k_digits[byte & 0x0f]);
    }
    return out;
}

std::string format_secret(const SecretDigest& s) {
    const std::string_view prefix = s.kind == HashKind::sha256 ? k_sha256_prefix : k_hmac_prefix;
    return std::string(prefix) + to_hex(s.digest);
}

Result<SecretDigest> parse_secret(std::string_view text) {
    // The messages never quote `text`: it may be a secret pasted into the wrong field.
    SecretDigest out;
    std::string_view hex;
    if (text.starts_with(k_sha256_prefix)) {
        out.kind = HashKind::sha256;
        hex = text.substr(k_sha256_prefix.size());
    } else if (text.starts_with(k_hmac_prefix)) {
        out.kind = HashKind::hmac_sha256;
        hex = text.substr(k_hmac_prefix.size());
    } else {
        return fail("hash must start with \"sha256:\" or \"hmac-sha256:\"");
    }
    if (hex.size() != k_hex_length) {
        return fail("hash must have exactly 64 hex characters after the prefix, found " +
                    std::to_string(hex.size()));
    }
    for (std::size_t i = 0; i < out.digest.size(); ++i) {
        const int high = hex_value(hex[2 * i]);
        const int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return fail("hash must be lowercase hex (0-9, a-f)");
        out.digest[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return out;
}

namespace {

/// splitmix64's finalizer: every input bit affects every output bit.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/// A per-process seed, so that the buckets of a crafted set of digests cannot be foreseen.
std::uint64_t process_seed() {
    static const std::uint64_t seed = [] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }();
    return seed;
}

} // namespace

std::size_t DigestHash::operator()(const Digest& d) const noexcept {
    // All 32 bytes feed the index: digests that share a prefix (placeholder hashes such as
    // sha256:000...N) must not share a bucket.
    std::uint64_t h = process_seed();
    for (std::size_t at = 0; at + sizeof(std::uint64_t) <= d.size(); at += sizeof(std::uint64_t)) {
        std::uint64_t word = 0;
        std::memcpy(&word, d.data() + at, sizeof word);
        h = mix(h ^ word);
    }
    return static_cast<std::size_t>(h);
}

} // namespace keygate
