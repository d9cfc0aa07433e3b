# syntax=docker/dockerfile:1
# keygate container image: a build stage with the Debian 12 -dev packages, and a small
# runtime stage with only the shared libraries keygate links, running as a non-root user.
#
#   docker build -t keygate .
#   docker run --rm -p 8090:8090 -v "$PWD/deploy:/etc/keygate:ro" keygate   # deploy/keys.yaml
#
# Mount the directory that holds keys.yaml, not the file: a single-file bind mount keeps the
# old file when an editor or `git pull` replaces it, and keygate would never see the change.
#
# Kubernetes: see helm/keygate (mount the key file's whole directory, never with subPath,
# and pass only `serve` as args so that KEYGATE_CONFIG / KEYGATE_LISTEN take effect: a flag
# wins over the environment).

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
# Build the unit tests too and run them during the build: --build-arg KEYGATE_BUILD_TESTS=ON
ARG KEYGATE_BUILD_TESTS=OFF
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        cmake g++ make pkg-config \
        libyaml-cpp-dev libcpp-httplib-dev libssl-dev libspdlog-dev libfmt-dev \
        nlohmann-json3-dev catch2 \
        libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKEYGATE_BUILD_TESTS="${KEYGATE_BUILD_TESTS}" \
    && cmake --build build -j"$(nproc)" \
    && if [ "${KEYGATE_BUILD_TESTS}" = "ON" ]; then \
           cd build && ctest --output-on-failure -j"$(nproc)" -E '^e2e\.'; \
       fi \
    && strip build/keygate \
    && build/keygate version

FROM ${DEBIAN_IMAGE}
# The smallest runtime Debian allows: debian:bookworm-slim (Debian's own minimal image) plus
# only the shared libraries keygate links, one package per line (add a runtime library to
# that list; tests/e2e/helm_image.sh checks that every library the binary links comes from
# it and that every package in it is one the binary links). No ca-certificates (keygate
# makes no TLS connection), no curl, and no documentation or man pages (dpkg excludes them;
# the copyright files stay). Why not distroless or scratch: distroless is not built from
# Debian packages we can install here, and a scratch image with copied libraries loses the
# dpkg database that image scanners read to find the libraries' security updates.
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
        'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/locale/*' \
        'path-exclude=/usr/share/lintian/*' >/etc/dpkg/dpkg.cfg.d/keygate-excludes \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libyaml-cpp0.7 \
        libssl3 \
        libspdlog1.10 \
        libfmt9 \
        libgrpc++1.51 \
        libgrpc29 \
        libprotobuf32 \
        libabsl20220623 \
        libc-ares2 \
        libre2-9 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
    && groupadd --system --gid 65532 keygate \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin keygate \
    && mkdir -p /etc/keygate /var/lib/keygate \
    && chown 65532:65532 /var/lib/keygate

COPY --from=build /src/build/keygate /usr/local/bin/keygate
COPY keys.example.yaml /usr/share/keygate/keys.example.yaml

LABEL org.opencontainers.image.title="keygate" \
      org.opencontainers.image.description="API key sidecar for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz"

# The audit log (one JSON object per line) goes to stdout, the operational log to stderr.
ENV KEYGATE_AUDIT_LOG=stdout
# Where serve listens; `keygate probe` (the HEALTHCHECK) reads the same variable, so a
# container given another KEYGATE_LISTEN stays healthy without a new health command.
ENV KEYGATE_LISTEN=0.0.0.0:8090

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /var/lib/keygate
EXPOSE 8090
# gRPC ext_authz when KEYGATE_GRPC_LISTEN=0.0.0.0:9091 is set (off by default)
EXPOSE 9091

# `keygate probe` is the health check: exec form, no shell, no curl. It asks /readyz (200 once
# a valid key file is loaded, 503 while draining after SIGTERM) where KEYGATE_LISTEN listens
# (0.0.0.0 is asked on 127.0.0.1). A --listen flag given to serve instead of the variable
# needs the health command overridden (docker run --health-cmd, or compose's
# healthcheck.test: ["CMD", "keygate", "probe", "--url", ...]).
# Kubernetes ignores HEALTHCHECK: the chart has its own probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["keygate", "probe", "--timeout", "4s"]

# keygate handles SIGTERM itself (finishes requests in flight, flushes the audit log, exits 0
# within 10 s) and starts no child processes, so it can run as PID 1 without an init.
STOPSIGNAL SIGTERM
ENTRYPOINT ["keygate"]
CMD ["serve", "--config", "/etc/keygate/keys.yaml"]
