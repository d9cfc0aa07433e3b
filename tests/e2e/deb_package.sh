#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` from the build directory (cmake/Packaging.cmake), then
#   - its control fields (dpkg-deb -f): name, version, architecture, Depends from the linked
#     libraries (dpkg-shlibdeps) plus systemd, a description;
#   - its contents (dpkg-deb -c): the binary, the systemd unit, /etc/keygate (conffiles),
#     the logrotate file and the docs, all root-owned, nothing under /usr/local;
#   - its maintainer scripts are POSIX sh that parses;
#   - the unit passes `systemd-analyze verify` (in a root with the package's files), is
#     hardened (DynamicUser, NoNewPrivileges, ProtectSystem=strict, ...) and reloads with
#     SIGHUP; the logrotate file parses (logrotate -d) and signals only the unit;
#   - the packaged binary serves with the packaged env file and key file.
#
# Usage: bash deb_package.sh PATH_TO_KEYGATE SOURCE_DIR (the binary's directory is the build
# directory). Needs cpack, dpkg-deb, dpkg-shlibdeps (Debian: cmake, dpkg-dev),
# systemd-analyze (systemd), logrotate, curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands cpack dpkg-deb dpkg-shlibdeps dpkg systemd-analyze curl
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
[[ -x $LOGROTATE ]] || e2e_die "'logrotate' is required (Debian: apt-get install logrotate)"
BUILD_DIR=$(cd "$(dirname "$KEYGATE_BIN")" && pwd)
[[ -f $BUILD_DIR/CPackConfig.cmake ]] || e2e_die "no CPackConfig.cmake in $BUILD_DIR (configure with cmake first)"
e2e_init

# --- build the package into the temp dir ---------------------------------------------------
(cd "$BUILD_DIR" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$E2E_TMP/pkg") \
    >"$E2E_TMP/cpack.out" 2>&1
rc=$?
e2e_expect_eq "cpack -G DEB succeeds" 0 "$rc"
((rc == 0)) || { tail -n 20 "$E2E_TMP/cpack.out" >&2; e2e_finish; }
mapfile -t debs < <(find "$E2E_TMP/pkg" -maxdepth 1 -name '*.deb')
e2e_expect_eq "one .deb" 1 "${#debs[@]}"
DEB=${debs[0]}
ARCH=$(dpkg --print-architecture)
VERSION=$("$KEYGATE_BIN" version | sed -n '1s/^keygate //p') # line 2 is "grpc: on|off"
e2e_expect_eq "the file name is Debian's (name_version_arch.deb)" "keygate_${VERSION}_${ARCH}.deb" "$(basename "$DEB")"

# --- control fields ---------------------------------------------------------------------------
e2e_expect_eq "Package" keygate "$(dpkg-deb -f "$DEB" Package)"
e2e_expect_eq "Version is keygate's" "$VERSION" "$(dpkg-deb -f "$DEB" Version)"
e2e_expect_eq "Architecture" "$ARCH" "$(dpkg-deb -f "$DEB" Architecture)"
e2e_expect_eq "Section" net "$(dpkg-deb -f "$DEB" Section)"
e2e_expect_match "Maintainer" '^.+ <.+@.+>$' "$(dpkg-deb -f "$DEB" Maintainer)"
e2e_expect_match "Description names the proxies" 'nginx auth_request.*Envoy ext_authz' "$(dpkg-deb -f "$DEB" Description)"
depends=$(dpkg-deb -f "$DEB" Depends)
# (libspdlog1.10's shlibs name the virtual package libspdlog1.10-fmt9, which it provides.)
for package in libc6 'libstdc\+\+6' libssl3 libyaml-cpp0.7 'libspdlog1\.10(-fmt9)?' libfmt9 systemd; do
    e2e_expect_match "Depends has $package" "(^|, )${package}( |,|$)" "$depends"
done

# --- contents ---------------------------------------------------------------------------------
dpkg-deb -c "$DEB" >"$E2E_TMP/contents"
declare -A expected_files=(
    [./usr/bin/keygate]='-rwxr-xr-x'
    [./lib/systemd/system/keygate.service]='-rw-r--r--'
    [./etc/keygate/keygate.env]='-rw-r--r--'
    [./etc/keygate/keys.yaml]='-rw-r--r--'
    [./etc/logrotate.d/keygate]='-rw-r--r--'
    [./usr/share/doc/keygate/copyright]='-rw-r--r--'
    [./usr/share/doc/keygate/README.md]='-rw-r--r--'
    [./usr/share/doc/keygate/keys.example.yaml]='-rw-r--r--'
)
for path in "${!expected_files[@]}"; do
    line=$(awk -v p="$path" '$6 == p' "$E2E_TMP/contents")
    e2e_expect_match "the package has $path (${expected_files[$path]}, root/root)" \
        "^${expected_files[$path]} root/root " "$line"
done
e2e_check_not "nothing under /usr/local" grep -q ' \./usr/local/' "$E2E_TMP/contents"
e2e_check_not "no build-tree or source paths" grep -qE "$BUILD_DIR|_CPack_Packages|CMakeFiles" "$E2E_TMP/contents"
e2e_check_not "every file is root/root" grep -qv ' root/root ' "$E2E_TMP/contents"

# --- control scripts and conffiles --------------------------------------------------------
mkdir -p "$E2E_TMP/control" "$E2E_TMP/root"
dpkg-deb -e "$DEB" "$E2E_TMP/control"
dpkg-deb -x "$DEB" "$E2E_TMP/root"
e2e_expect_eq "conffiles: the /etc files" \
    $'/etc/keygate/keygate.env\n/etc/keygate/keys.yaml\n/etc/logrotate.d/keygate' \
    "$(sort "$E2E_TMP/control/conffiles")"
for script in postinst prerm postrm; do
    e2e_check "$script is executable" test -x "$E2E_TMP/control/$script"
    e2e_check "$script is sh that parses" sh -n "$E2E_TMP/control/$script"
done
e2e_check "postinst enables and starts the unit only under systemd" \
    grep -qE 'if \[ -d /run/systemd/system \]' "$E2E_TMP/control/postinst"

# --- the unit -------------------------------------------------------------------------------
UNIT=$E2E_TMP/root/lib/systemd/system/keygate.service
# systemd-analyze verify in a root that has the package's files and the host's targets, so
# that it checks the package's ExecStart= path (not the host's).
cp -a /lib/systemd/system/*.target "$E2E_TMP/root/lib/systemd/system/" 2>/dev/null
mkdir -p "$E2E_TMP/root/bin"
cp /bin/kill "$E2E_TMP/root/bin/kill"
systemd-analyze verify --root="$E2E_TMP/root" keygate.service >"$E2E_TMP/verify.out" 2>&1
rc=$?
e2e_expect_eq "systemd-analyze verify accepts the unit" 0 "$rc"
e2e_expect_eq "... without a warning" "" "$(cat "$E2E_TMP/verify.out")"
for setting in 'ExecStart=/usr/bin/keygate serve --env-file /etc/keygate/keygate.env' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'DynamicUser=yes' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
    'CapabilityBoundingSet=' 'AmbientCapabilities=' 'StateDirectory=keygate' \
    'LogsDirectory=keygate' 'MemoryDenyWriteExecute=yes' 'RestrictNamespaces=yes' \
    'LockPersonality=yes' 'WantedBy=multi-user.target'; do
    e2e_check "the unit sets $setting" grep -qxF -- "$setting" "$UNIT"
done
e2e_check "the unit's reload also reopens the audit log (SIGUSR1)" grep -qxF 'ExecReload=/bin/kill -USR1 $MAINPID' "$UNIT"

# --- logrotate ------------------------------------------------------------------------------
ROTATE=$E2E_TMP/root/etc/logrotate.d/keygate
e2e_check "the logrotate file reloads only the unit" grep -qE '^ +systemctl reload keygate\.service' "$ROTATE"
e2e_check_not "the logrotate file never signals by process name" grep -qE '^[^#]*(pkill|killall)' "$ROTATE"
e2e_check "the logrotate file rotates the env file's audit log" \
    grep -qxF "$(sed -n 's/^KEYGATE_AUDIT_LOG=//p' "$E2E_TMP/root/etc/keygate/keygate.env") {" "$ROTATE"
"$LOGROTATE" -d --state "$E2E_TMP/logrotate.state" "$ROTATE" >"$E2E_TMP/logrotate.out" 2>&1
e2e_expect_eq "logrotate -d parses the file" 0 "$?"
e2e_check_not "... without an error" grep -qi 'error' "$E2E_TMP/logrotate.out"

# --- the packaged binary with the packaged configuration ------------------------------------
PACKAGED=$E2E_TMP/root/usr/bin/keygate
e2e_expect_eq "the packaged binary is the built one" "$(sha256sum <"$KEYGATE_BIN")" "$(sha256sum <"$PACKAGED")"
e2e_check "the packaged key file validates" "$PACKAGED" validate "$E2E_TMP/root/etc/keygate/keys.yaml"
# The env file as the unit passes it; the environment wins over it (as a drop-in's
# Environment= would), so that the paths point into the temp dir.
e2e_pick_port
e2e_spawn "$E2E_TMP/serve.out" "$E2E_TMP/serve.log" env -i PATH="$PATH" \
    KEYGATE_CONFIG="$E2E_TMP/root/etc/keygate/keys.yaml" KEYGATE_LISTEN="127.0.0.1:$E2E_PORT" \
    KEYGATE_AUDIT_LOG="$E2E_TMP/audit.log" \
    "$PACKAGED" serve --env-file "$E2E_TMP/root/etc/keygate/keygate.env"
SERVE_PID=$E2E_SPAWNED_PID
packaged_ready() { "$PACKAGED" probe --url "http://127.0.0.1:$E2E_PORT/readyz" --timeout 1s 2>/dev/null; }
e2e_check "the packaged keygate serves with the packaged env file" e2e_wait_until 20 packaged_ready
e2e_request -H "X-API-Key: pk_deb_exampleTestDEBKEY00000000000000001" "http://127.0.0.1:$E2E_PORT/auth"
e2e_expect_eq "with no keys yet, every request is denied" 401 "$E2E_STATUS"
e2e_check "the env file's log format applies (text, not json)" grep -qv '^{' "$E2E_TMP/serve.log"
e2e_stop_spawned "$SERVE_PID"

e2e_finish
