// `keygate probe --url URL [--timeout 2s]`: a health check that needs neither a shell nor
// curl in the image (Dockerfile HEALTHCHECK, Kubernetes exec probes).
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "cli/http_probe.hpp"
#include "cli/probe_target.hpp"
#include "core/time.hpp"

#include <ostream>

namespace keygate::cli {

namespace {

constexpr std::string_view k_usage =
    "keygate probe --url http://HOST:PORT/PATH|unix:/SOCKET[:/PATH] [--timeout 2s]";

constexpr Duration k_default_timeout{2000};
constexpr Duration k_max_timeout{3'600'000};

} // namespace

int run_probe(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, {{"--url", true}, {"--timeout", true}});
    if (!parsed)
        return usage_error(err, "probe", parsed.error().message, k_usage);
    if (parsed->help) {
        out << "usage: " << k_usage << '\n'
            << "Sends GET PATH and exits 0 on a 2xx answer, 1 on any other answer, a refused\n"
               "connection or no answer within --timeout (default 2s; ms, s, m), with one line\n"
               "on stderr saying why; 2 on a usage error.\n";
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, "probe", "unexpected argument '" + parsed->positionals[0] + "'",
                           k_usage);
    }
    const auto url = parsed->value("--url");
    if (!url)
        return usage_error(err, "probe", "--url is required", k_usage);
    const auto target = parse_probe_url(*url);
    if (!target)
        return usage_error(err, "probe", "--url: " + target.error().message, k_usage);

    Duration timeout = k_default_timeout;
    if (const auto text = parsed->value("--timeout")) {
        const auto value = parse_duration(*text);
        if (!value || *value <= Duration::zero() || *value > k_max_timeout) {
            return usage_error(err, "probe",
                               "--timeout must be a duration from 1ms to 1h, e.g. 2s or 500ms",
                               k_usage);
        }
        timeout = *value;
    }

    const auto response = http_probe(*target, timeout);
    if (!response)
        return operation_failed(err, "probe", response.error().message);
    if (response->status < 200 || response->status > 299) {
        return operation_failed(err, "probe",
                                target->path + " answered " + std::to_string(response->status) +
                                    (response->reason.empty() ? "" : " " + response->reason));
    }
    return k_exit_ok;
}

} // namespace keygate::cli
