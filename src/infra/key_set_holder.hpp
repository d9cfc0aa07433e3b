#pragma once
// The live key set: one immutable snapshot, swapped whole (STYLE habit 1).
#include "core/key_store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

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
        std::lock_guard<std::mutex> lock(mutex_);
        return current_;
    }

    /// Makes `next` the current snapshot (a null `next` is ignored: a failed load never
    /// replaces a good one) and counts a generation.
    void publish(std::shared_ptr<const KeyStore> next) {
        if (!next)
            return;
        std::shared_ptr<const KeyStore> previous;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            previous = std::exchange(current_, std::move(next));
            generation_.fetch_add(1, std::memory_order_acq_rel);
        }
        // `previous` (possibly the last reference to a large key set) is freed here,
        // outside the lock, so readers never wait for a destructor.
    }

    /// True once a snapshot was published; stays true afterwards (CONTRACT §6 /readyz).
    bool ready() const { return generation_.load(std::memory_order_acquire) > 0; }

    /// Number of snapshots published so far.
    std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  private:
    // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's atomic load releases its
    // internal lock with memory_order_relaxed, which ThreadSanitizer reports as a race with
    // the next store. The lock is held only to copy one pointer (uncontended: ~20 ns).
    mutable std::mutex mutex_;
    std::shared_ptr<const KeyStore> current_;
    std::atomic<std::uint64_t> generation_{0};
};

} // namespace keygate
