#pragma once
// What this binary was built from, for keygate_build_info and `keygate version`.
#include <string_view>

namespace keygate {

/// The project version from CMake ("0.1.0").
std::string_view build_version();

/// The git commit the build was configured at (12 hex digits), or "unknown" when the
/// source tree was no git checkout.
std::string_view build_commit();

} // namespace keygate
