#pragma once
// One HTTP/1.1 GET with a deadline, for `keygate probe`: the container HEALTHCHECK and the
// Kubernetes exec probes, which must not need a shell or curl in the image.
#include "cli/probe_target.hpp"
#include "core/result.hpp"

#include <chrono>
#include <string>

namespace keygate::cli {

/// The status line of a probe's answer.
struct ProbeResponse {
    int status = 0;     ///< 100..599
    std::string reason; ///< the reason phrase, printable ASCII, at most 64 characters
};

/// Connects to `target`, sends `GET target.path` with `Connection: close`, and reads the
/// status line. Everything (name resolution of a numeric host, connect, send, receive) must
/// finish within `timeout`. Errors say which step failed ("connect to 127.0.0.1:8090:
/// Connection refused", "no answer within 2s"). Blocking; thread-safe; never throws; never
/// raises SIGPIPE.
Result<ProbeResponse> http_probe(const ProbeTarget& target, std::chrono::milliseconds timeout);

} // namespace keygate::cli
