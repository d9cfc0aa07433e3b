#!/usr/bin/env bash
# The container image the chart deploys (Dockerfile, .dockerignore), checked without a
# Docker engine:
#   - multi-stage on debian:bookworm-slim; the build stage installs the -dev packages that
#     scripts/deps.sh installs and builds with the tests off; the final stage runs as uid
#     65532, exposes 8090, and has the ENTRYPOINT/CMD the docs show;
#   - every shared library the keygate binary links comes from a runtime package the final
#     stage installs (or one of their dependencies, or Debian's base system), and every
#     package it installs owns a library the binary links (nothing else: no
#     ca-certificates, curl or shell tools; a -DKEYGATE_WITH_GRPC=OFF binary leaves out gRPC's
#     packages, and only those); documentation is excluded from dpkg;
#   - the HEALTHCHECK is exec form without a shell (`keygate probe`), passes against a
#     running keygate, and fails when it is not ready or nothing listens;
#   - .dockerignore keeps build trees, .git and key files out, and the build inputs in.
#
# Usage: bash helm_image.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3, curl, ldd and dpkg-query (Debian). Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands python3 curl ldd dpkg-query grep sed
[[ -x $KEYGATE_BIN ]] || e2e_die "keygate binary '$KEYGATE_BIN' not found or not executable"
e2e_init
DOCKERFILE=$SOURCE_DIR/Dockerfile
[[ -f $DOCKERFILE ]] || e2e_die "no Dockerfile in $SOURCE_DIR"

# The Dockerfile as logical lines (continuations joined), one instruction per line.
python3 - "$DOCKERFILE" "$E2E_TMP" <<'PYTHON' || e2e_die "cannot read the Dockerfile"
import json, re, sys
text = open(sys.argv[1]).read()
lines, current = [], ""
for raw in text.splitlines():
    if not current and (not raw.strip() or raw.lstrip().startswith("#")):
        continue
    if raw.lstrip().startswith("#"):  # a comment inside a continued instruction
        continue
    if raw.rstrip().endswith("\\"):
        current += raw.rstrip()[:-1] + " "
        continue
    lines.append(current + raw)
    current = ""
open(sys.argv[2] + "/instructions", "w").write("\n".join(lines) + "\n")
stages = [[]]
for line in lines:
    if line.upper().startswith("FROM ") and stages[-1]:
        stages.append([])
    stages[-1].append(line)
stages = [s for s in stages if s and s[0].upper().startswith("FROM ")]
for i, stage in enumerate(stages):
    open(f"{sys.argv[2]}/stage{i}", "w").write("\n".join(stage) + "\n")
healthcheck = next((l for l in lines if l.startswith("HEALTHCHECK")), "")
m = re.search(r"CMD\s+(\[.*\])\s*$", healthcheck)
argv = json.loads(m.group(1)) if m else []
open(sys.argv[2] + "/healthcheck", "w").write("".join(a + "\n" for a in argv))
PYTHON
stages=("$E2E_TMP"/stage*)
stage_count=${#stages[@]}
e2e_expect_eq "two stages" 2 "$stage_count"
BUILD=$E2E_TMP/stage0
FINAL=$E2E_TMP/stage1
I=$E2E_TMP/instructions
e2e_check "ARG DEBIAN_IMAGE defaults to debian:bookworm-slim" grep -qx 'ARG DEBIAN_IMAGE=debian:bookworm-slim' "$I"
e2e_check "the build stage is FROM debian:bookworm-slim" grep -qE '^FROM \$\{DEBIAN_IMAGE\} AS build$' "$BUILD"
e2e_check "the final stage is FROM debian:bookworm-slim" grep -qE '^FROM \$\{DEBIAN_IMAGE\}$' "$FINAL"

# The build stage installs every package scripts/deps.sh installs for building.
mapfile -t build_packages < <(sed -n '/^packages=(/,/^)/p' "$SOURCE_DIR/scripts/deps.sh" |
    tr ' ' '\n' | grep -E '^(cmake|g\+\+|pkg-config|lib.*-dev|catch2|nlohmann-json3-dev)$')
e2e_check "scripts/deps.sh lists build packages" test "${#build_packages[@]}" -ge 9
for package in "${build_packages[@]}"; do
    e2e_check "the build stage installs $package" grep -qE "install .*(^| )${package//+/\\+}( |$)" "$BUILD"
done
e2e_check "the build stage installs make (cmake does not pull it in without recommends)" grep -qE "install .* make " "$BUILD"
e2e_check "the build is a Release build without tests by default" \
    grep -qE 'cmake -S \. -B build -DCMAKE_BUILD_TYPE=Release -DKEYGATE_BUILD_TESTS="\$\{KEYGATE_BUILD_TESTS\}"' "$BUILD"
e2e_check "KEYGATE_BUILD_TESTS defaults to OFF" grep -qx 'ARG KEYGATE_BUILD_TESTS=OFF' "$BUILD"
e2e_check_not "the final stage has no compiler or -dev package" grep -qE 'g\+\+|-dev( |$)|cmake' "$FINAL"

runtime_line=$(grep -E '^RUN .*apt-get install' "$FINAL" | head -n 1)
read -r -a runtime_packages <<<"$(printf '%s' "$runtime_line" | sed -E 's/.*--no-install-recommends +//; s/ *&&.*//')"
e2e_check "the final stage installs runtime libraries" test "${#runtime_packages[@]}" -ge 1
for unwanted in ca-certificates curl wget bash busybox openssl; do
    e2e_check_not "the final stage does not install $unwanted" e2e_in_list "$unwanted" "${runtime_packages[@]}"
done
e2e_check "dpkg leaves out /usr/share/doc (but the copyright files) and the man pages" \
    grep -qE "path-exclude=/usr/share/doc/\*' 'path-include=/usr/share/doc/\*/copyright' +'path-exclude=/usr/share/man/\*'" "$FINAL"
e2e_check "the final stage removes apt's lists and caches" grep -qE 'rm -rf /var/lib/apt/lists/\* /var/cache/apt/\*' "$FINAL"

# Every library keygate links comes from those packages, their dependencies, or the base
# system every Debian image has.
allowed=(libc6 libgcc-s1 libstdc++6 zlib1g "${runtime_packages[@]}")
for package in "${runtime_packages[@]}"; do
    deps=$(dpkg-query -W -f='${Depends}' "$package" 2>/dev/null) || continue
    while IFS= read -r dep; do
        allowed+=("$dep")
    done < <(printf '%s\n' "$deps" | tr ',|' '\n' | sed -E 's/\(.*\)//; s/:any//; s/ //g' | grep -v '^$')
done
unexplained=()
linked_owners=()
while IFS= read -r lib; do
    owner=$(dpkg-query -S "$(realpath "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1) ||
        owner=$(dpkg-query -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
    [[ -n $owner ]] || { unexplained+=("$lib(no package)"); continue; }
    case $owner in lib*san[0-9]*) continue ;; esac # a sanitizer build's own runtime
    linked_owners+=("$owner")
    e2e_in_list "$owner" "${allowed[@]}" || unexplained+=("$lib($owner)")
done < <(ldd "$KEYGATE_BIN" | sed -nE 's/.*=> (\/[^ ]+) .*/\1/p')
if ldd "$KEYGATE_BIN" | grep -cE 'lib(a|t|ub)san\.so' >/dev/null; then
    # A sanitizer build (scripts/sanitizers.sh) links its runtime and, instrumented, keeps
    # libraries the Release binary of the image drops (cpp-httplib, brotli, libatomic): the
    # image's link set is checked on the Release build of scripts/test.sh.
    echo "skip - the linked libraries of a sanitizer build are not the image's: ${unexplained[*]}"
else
    e2e_expect_eq "every linked library comes from the final stage's packages" "" "${unexplained[*]}"
fi
unneeded=()
for package in "${runtime_packages[@]}"; do
    e2e_in_list "$package" "${linked_owners[@]}" || unneeded+=("$package")
done
if [[ $("$KEYGATE_BIN" version | sed -n 2p) == "grpc: off"* ]]; then
    # A build with -DKEYGATE_WITH_GRPC=OFF (scripts/no_grpc_build.sh) links no gRPC: the
    # image's binary is the default build's (checked there); here the packages it does not
    # use must be gRPC's alone: those of libgrpc++ and libprotobuf and of what they link.
    grpc_packages=()
    for dev_lib in libgrpc++.so libprotobuf.so; do
        lib=$(realpath "$(g++ -print-file-name="$dev_lib")")
        for file in "$lib" $(ldd "$lib" | sed -nE 's/.*=> (\/[^ ]+) .*/\1/p'); do
            grpc_packages+=("$(dpkg-query -S "$(realpath "$file")" 2>/dev/null | head -n 1 | cut -d: -f1)")
        done
    done
    not_grpc=()
    for package in "${unneeded[@]}"; do
        e2e_in_list "$package" "${grpc_packages[@]}" || not_grpc+=("$package")
    done
    e2e_check "without gRPC, the binary leaves out some runtime packages (${unneeded[*]})" \
        test "${#unneeded[@]}" -ge 1
    e2e_expect_eq "  ...only those of libgrpc++ and libprotobuf (the smallest image otherwise)" "" \
        "${not_grpc[*]}"
else
    e2e_expect_eq "every runtime package owns a library the binary links (the smallest image)" "" "${unneeded[*]}"
fi

e2e_check "runs as uid/gid 65532" grep -qx 'USER 65532:65532' "$FINAL"
e2e_check "creates that user without a home or a shell" grep -qE 'useradd .*--uid 65532 .*--shell /usr/sbin/nologin' "$FINAL"
e2e_check "exposes 8090" grep -qx 'EXPOSE 8090' "$FINAL"
e2e_check "the audit log goes to stdout" grep -qx 'ENV KEYGATE_AUDIT_LOG=stdout' "$FINAL"
e2e_check "ENTRYPOINT is keygate" grep -qx 'ENTRYPOINT \["keygate"\]' "$FINAL"
e2e_check "KEYGATE_LISTEN is 0.0.0.0:8090" grep -qx 'ENV KEYGATE_LISTEN=0.0.0.0:8090' "$FINAL"
e2e_check "CMD serves /etc/keygate/keys.yaml (where KEYGATE_LISTEN says)" \
    grep -qx 'CMD \["serve", "--config", "/etc/keygate/keys.yaml"\]' "$FINAL"
e2e_check "copies the binary built in the first stage" grep -qx 'COPY --from=build /src/build/keygate /usr/local/bin/keygate' "$FINAL"

# HEALTHCHECK: exec form, `keygate probe` (no shell, no curl in the image).
mapfile -t health <"$E2E_TMP/healthcheck"
e2e_expect_eq "HEALTHCHECK is exec-form keygate probe of KEYGATE_LISTEN's /readyz" \
    "keygate probe --timeout 4s" "${health[*]}"
e2e_check "HEALTHCHECK's probe timeout is below its own --timeout" grep -qE '^HEALTHCHECK .*--timeout=5s .*CMD ' "$FINAL"
run_health() { # the HEALTHCHECK's argv, with the built binary, in the image's environment
    local argv=("${health[@]}")
    argv[0]=$KEYGATE_BIN
    KEYGATE_LISTEN=0.0.0.0:$KEYGATE_PORT "${argv[@]}"
}
e2e_start_keygate "$KEYGATE_BIN" "$SOURCE_DIR/tests/data/valid/minimal.yaml"
e2e_check "HEALTHCHECK passes against a running keygate" run_health
# Draining: after SIGTERM with a shutdown delay, /readyz answers 503 and the probe fails.
e2e_stop_spawned "$KEYGATE_PID"
e2e_start_keygate "$KEYGATE_BIN" "$SOURCE_DIR/tests/data/valid/minimal.yaml" KEYGATE_SHUTDOWN_DELAY=2s
kill -TERM "$KEYGATE_PID"
e2e_wait_until 5 bash -c '! "$@" 2>/dev/null' _ "$KEYGATE_BIN" probe --url "http://127.0.0.1:$KEYGATE_PORT/readyz"
run_health 2>"$E2E_TMP/health.err"
health_rc=$?
e2e_expect_eq "HEALTHCHECK fails (1) while keygate drains" 1 "$health_rc"
e2e_expect_eq "... and says why in one line" "keygate probe: /readyz answered 503 Service Unavailable" "$(cat "$E2E_TMP/health.err")"
e2e_check "... while keygate still serves during the delay" e2e_port_open "$KEYGATE_PORT"
e2e_stop_spawned "$KEYGATE_PID"
run_health 2>"$E2E_TMP/health.err"
health_rc=$?
e2e_expect_eq "HEALTHCHECK fails (1) when nothing listens" 1 "$health_rc"
e2e_expect_match "... and names the refused connection" "^keygate probe: connect to 127\.0\.0\.1:$KEYGATE_PORT: Connection refused$" "$(cat "$E2E_TMP/health.err")"

# .dockerignore: keep out what must not be sent or baked in; keep in the build inputs.
python3 - "$SOURCE_DIR/.dockerignore" >"$E2E_TMP/ignore.out" <<'PYTHON'
import fnmatch, sys
rules = []
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith("#"):
        rules.append((line.startswith("!"), line.lstrip("!").rstrip("/")))

def ignored(path):
    # Docker's rule: the last matching pattern wins; a pattern also matches a directory's
    # contents. ** matches any number of directories (approximated with fnmatch).
    result = False
    for negated, pattern in rules:
        candidates = [path] + ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.replace("**/", "")) for c in candidates):
            result = not negated
    return result

for path, expected in [(".git/config", True), ("build/keygate", True), ("build-h1/CMakeCache.txt", True),
                       ("keys.yaml", True), ("deploy/keys.yaml", True), (".env", True),
                       ("CMakeLists.txt", False), ("cmake/StandardSettings.cmake", False),
                       ("src/cli/main.cpp", False), ("tests/unit/main.cpp", False),
                       ("tests/data/e2e/keys.yaml", False), ("keys.example.yaml", False)]:
    print(f"{'ignored' if ignored(path) else 'kept'} {path} {'ignored' if expected else 'kept'}")
PYTHON
while read -r actual path expected; do
    e2e_expect_eq ".dockerignore: $path is $expected" "$expected" "$actual"
done <"$E2E_TMP/ignore.out"

e2e_finish
