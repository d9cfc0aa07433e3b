#pragma once
// The live key set: one immutable snapshot, swapped whole (STYLE habit 1).
#include "core/key_store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>

namespace keygate {

/// Holds the current `std::shared_ptr<const KeyStore>`. A request takes the snapshot once
/// and decides against it alone; a reload publishes a complete new one. Thread-safe.
class KeySetHolder {
  public:
    KeySetHolder() = default;
    explicit KeySetHolder(std::shared_ptr<const KeyStore> initial) { publish(std::move(initial)); }
    KeySetHolder(const KeySetHolder&) = delete;
    KeySetHolder& operator=(const KeySetHolder&) = delete;

    /// The current snapshot; null until the first publish. The caller's copy stays valid
    /// (and unchanged) however many reloads happen meanwhile.
    std::shared_ptr<const KeyStore> snapshot() const {
        return current_.load(std::memory_order_acquire);
    }

    /// Makes `next` the current snapshot (a null `next` is ignored: a failed load never
    /// replaces a good one) and counts a generation.
    void publish(std::shared_ptr<const KeyStore> next) {
        if (!next)
            return;
        current_.store(std::move(next), std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }

    /// True once a snapshot was published; stays true afterwards (CONTRACT §6 /readyz).
    bool ready() const { return generation_.load(std::memory_order_acquire) > 0; }

    /// Number of snapshots published so far.
    std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  private:
    std::atomic<std::shared_ptr<const KeyStore>> current_;
    std::atomic<std::uint64_t> generation_{0};
};

} // namespace keygate
