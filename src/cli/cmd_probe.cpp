// `keygate probe --url URL [--timeout 2s]`: a health check that needs neither a shell nor
// curl in the image (Dockerfile HEALTHCHECK, Kubernetes exec probes).
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "cli/http_probe.hpp"
#include "cli/probe_target.hpp"
#include "core/time.hpp"
#include "infra/environment.hpp"

#include <ostream>

namespace keygate::cli {

namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--url",
     .takes_value = true,
     .value_name = "URL",
     .help = "http://HOST[:PORT][/PATH] (port 80, path / when none) or unix:/SOCKET[:/PATH]",
     .default_value = "/readyz where KEYGATE_LISTEN (else 127.0.0.1:8090) listens"},
    {.name = "--timeout",
     .takes_value = true,
     .value_name = "DURATION",
     .help = "how long to wait for the status line, 1ms to 1h (ms, s, m)",
     .default_value = "2s"},
};
constexpr EnvironmentSpec k_environment[] = {
    {"KEYGATE_LISTEN", "127.0.0.1:8090",
     "without --url: where serve listens (0.0.0.0 and :: are asked on the loopback)"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "a 2xx answer"},
    {1, "any other answer, a refused connection or no answer within --timeout (one line on "
        "stderr says why)"},
    {2, "usage error"},
};

constexpr CommandSpec k_command{
    .name = "probe",
    .synopsis = "keygate probe [--url http://HOST:PORT/PATH|unix:/SOCKET[:/PATH]] [--timeout 2s]",
    .summary = "Sends GET PATH and reads the status line only: a health check that needs neither\n"
               "a shell nor curl (the Dockerfile's HEALTHCHECK, Kubernetes exec probes). No\n"
               "https, no redirects followed.",
    .options = k_options,
    .environment = k_environment,
    .exit_codes = k_exit_codes,
};

constexpr Duration k_max_timeout{3'600'000};

} // namespace

const CommandSpec& probe_command() {
    return k_command;
}

int run_probe(const Args& args, std::ostream& out, std::ostream& err) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(err, k_command, parsed.error().message);
    if (parsed->help) {
        out << help_text(k_command);
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(err, k_command, "unexpected argument '" + parsed->positionals[0] + "'");
    }
    // Without --url: /readyz of the keygate this environment configures (the image's
    // HEALTHCHECK then follows a KEYGATE_LISTEN given to the container).
    const auto url = parsed->value("--url");
    const auto target =
        url ? parse_probe_url(*url)
            : readyz_target_of_listen(
                  env_value(process_environment(), "KEYGATE_LISTEN").value_or("127.0.0.1:8090"));
    if (!target)
        return usage_error(err, k_command,
                           (url ? "--url: " : "KEYGATE_LISTEN: ") + target.error().message);

    Duration timeout{};
    if (const auto text = value_or_default(*parsed, k_command, "--timeout")) {
        const auto value = parse_duration(*text);
        if (!value || *value <= Duration::zero() || *value > k_max_timeout) {
            return usage_error(err, k_command,
                               "--timeout must be a duration from 1ms to 1h, e.g. 2s or 500ms");
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
