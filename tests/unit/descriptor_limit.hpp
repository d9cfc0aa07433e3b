#pragma once
// Runs out of file descriptors on purpose, for tests of EMFILE handling.
#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <unistd.h>

namespace keygate::test {

/// Lowers the soft RLIMIT_NOFILE to the lowest free descriptor, so that the next open()
/// fails with EMFILE; restore() (or the destructor, also when a REQUIRE fails midway, so that
/// the tests after it can still open files) puts the old limit back.
class NoFreeDescriptors {
  public:
    NoFreeDescriptors() {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        const int probe = ::dup(0);
        REQUIRE(probe >= 0);
        ::close(probe);
        rlimit low = saved_;
        low.rlim_cur = static_cast<rlim_t>(probe);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
        active_ = true;
    }
    ~NoFreeDescriptors() { restore(); }
    NoFreeDescriptors(const NoFreeDescriptors&) = delete;
    NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;

    /// Puts the saved limit back. Idempotent.
    void restore() {
        if (active_ && ::setrlimit(RLIMIT_NOFILE, &saved_) == 0)
            active_ = false;
    }

  private:
    rlimit saved_{};
    bool active_ = false;
};

} // namespace keygate::test
