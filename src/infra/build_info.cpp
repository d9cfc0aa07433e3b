// The version and commit, set by CMake on this file alone (so that a new commit recompiles
// one file).
#include "infra/build_info.hpp"

#ifndef KEYGATE_VERSION
#define KEYGATE_VERSION "unknown"
#endif
#ifndef KEYGATE_COMMIT
#define KEYGATE_COMMIT "unknown"
#endif

namespace keygate {

std::string_view build_version() {
    return KEYGATE_VERSION;
}

std::string_view build_commit() {
    return KEYGATE_COMMIT;
}

} // namespace keygate
