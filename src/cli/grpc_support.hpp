#pragma once
// Whether this binary serves Envoy's gRPC ext_authz: CMake's KEYGATE_WITH_GRPC (default ON)
// builds src/grpc/ and defines KEYGATE_WITH_GRPC=1 on keygate_cli and every target linking
// it; OFF defines it 0, and the build then reaches no gRPC or protobuf header or library.
#include <string_view>

#ifndef KEYGATE_WITH_GRPC
#error "KEYGATE_WITH_GRPC (1 or 0) comes from keygate_cli's compile definitions (CMakeLists.txt)"
#endif

namespace keygate::cli {

/// True when --grpc-listen / KEYGATE_GRPC_LISTEN can be served (KEYGATE_WITH_GRPC=ON).
inline constexpr bool k_grpc_built_in = KEYGATE_WITH_GRPC != 0;

/// Why a build without gRPC refuses to start with --grpc-listen or KEYGATE_GRPC_LISTEN set
/// (serve exits 1 rather than serve without the listener it was asked for).
inline constexpr std::string_view k_grpc_not_built_in =
    "--grpc-listen / KEYGATE_GRPC_LISTEN is set, but this keygate was built without gRPC "
    "(-DKEYGATE_WITH_GRPC=OFF): unset it, or use a build with -DKEYGATE_WITH_GRPC=ON";

/// The line `keygate version` prints after the version: "grpc: on" or "grpc: off (...)".
inline constexpr std::string_view k_grpc_build_line =
    k_grpc_built_in ? "grpc: on" : "grpc: off (built with -DKEYGATE_WITH_GRPC=OFF)";

} // namespace keygate::cli
