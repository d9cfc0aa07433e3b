# shellcheck shell=bash
# Shared helpers of the end-to-end tests (tests/e2e/*.sh): a temp dir and processes that are
# always cleaned up, free ports, polling with a deadline, curl with the response kept, and
# pass/fail counting that ends with the line "N passed, N failed".
#
# Source it:  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Needs bash, curl and coreutils only.
#
# tests/CMakeLists.txt runs every tests/e2e/*.sh, this file included. Run as a script, it
# tests its own helpers (see the end of the file).

E2E_PASSED=0
E2E_FAILED=0
E2E_TMP=""
E2E_MAIN_PID=""    # the shell that called e2e_init: the only one that cleans up
E2E_PIDS=()        # processes started with e2e_spawn, stopped in reverse order on exit
E2E_PORTS_TAKEN=() # ports handed out by e2e_pick_port in this run

# Reads the two arguments of an e2e script, "PATH_TO_KEYGATE SOURCE_DIR", into KEYGATE_BIN
# and SOURCE_DIR; anything else is a usage error (exit 2).
e2e_args() {
    if (($# != 2)); then
        echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
        exit 2
    fi
    KEYGATE_BIN=$1
    SOURCE_DIR=$2
}

# Prints a line of progress on stderr.
e2e_log() {
    printf '%s\n' "$*" >&2
}

# Fails the whole test at once (a broken set-up, not an assertion): prints why, counts a
# failure, prints the summary, exits 1. The EXIT trap still cleans up.
e2e_die() {
    printf 'FATAL: %s\n' "$*" >&2
    E2E_FAILED=$((E2E_FAILED + 1))
    printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
    exit 1
}

# Fails unless every named command is installed. The e2e tests never skip: their tools are
# hard dependencies of the test suite.
e2e_require_commands() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 ||
            e2e_die "'$cmd' is required by the end-to-end tests; install it (Debian: apt-get install $cmd)"
    done
}

# Creates the run's temp dir (E2E_TMP) and installs the traps that stop every spawned
# process and remove the dir on any exit. Set E2E_KEEP_TMP=1 to keep the dir for debugging.
e2e_init() {
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/keygate-e2e.XXXXXX") || e2e_die "mktemp failed"
    E2E_MAIN_PID=$BASHPID
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Stops one process: SIGTERM, then SIGKILL (with its direct children, e.g. nginx workers,
# which would otherwise outlive a killed master) if it is still there after 10 s.
e2e_stop() {
    local pid=$1 deadline=$((SECONDS + 10))
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        e2e_log "process $pid ignored SIGTERM for 10 s; killing it"
        local children=()
        mapfile -t children < <(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
        kill -KILL "$pid" "${children[@]}" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# The EXIT trap: stops what e2e_spawn started (newest first), removes the temp dir.
e2e_cleanup() {
    # A child forked by e2e_spawn still has these traps until it execs; a signal in that
    # window must not make it tear down the run.
    [[ $BASHPID == "$E2E_MAIN_PID" ]] || return 0
    local i
    for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
        e2e_stop "${E2E_PIDS[i]}"
    done
    E2E_PIDS=()
    if [[ -n $E2E_TMP && -d $E2E_TMP ]]; then
        if [[ ${E2E_KEEP_TMP:-0} == 1 ]]; then
            e2e_log "kept $E2E_TMP"
        else
            rm -rf "$E2E_TMP"
        fi
    fi
}

# Starts a command in the background with stdout and stderr to files, and registers it for
# cleanup. Sets E2E_SPAWNED_PID. Usage: e2e_spawn OUT_FILE ERR_FILE COMMAND [ARGS...]
e2e_spawn() {
    local out=$1 err=$2
    shift 2
    "$@" >"$out" 2>"$err" </dev/null &
    E2E_SPAWNED_PID=$!
    E2E_PIDS+=("$E2E_SPAWNED_PID")
}

# Stops one process started with e2e_spawn now, and forgets it.
e2e_stop_spawned() {
    local pid=$1 i kept=()
    e2e_stop "$pid"
    for i in "${E2E_PIDS[@]}"; do
        [[ $i == "$pid" ]] || kept+=("$i")
    done
    E2E_PIDS=("${kept[@]}")
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
e2e_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Sets E2E_PORT to a port on 127.0.0.1 that nothing listens on and that this run has not
# handed out yet (not in a subshell: it records the port). Chosen below Linux's ephemeral
# range (32768+) so that outgoing connections do not take it meanwhile. A port can still be
# taken before it is bound: callers retry their start-up.
e2e_pick_port() {
    local port attempt taken
    for attempt in $(seq 1 200); do
        port=$((20000 + (RANDOM % 12000)))
        for taken in "${E2E_PORTS_TAKEN[@]}"; do
            [[ $taken == "$port" ]] && continue 2
        done
        if ! e2e_port_open "$port"; then
            E2E_PORTS_TAKEN+=("$port")
            E2E_PORT=$port
            return 0
        fi
    done
    e2e_die "no free port found"
}

# Polls COMMAND every 50 ms until it succeeds (returns 0) or TIMEOUT_SECONDS pass (returns
# 1). Usage: e2e_wait_until TIMEOUT_SECONDS COMMAND [ARGS...]
e2e_wait_until() {
    local timeout=$1
    shift
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

# Runs curl and keeps the response: E2E_STATUS (the status code, 000 if none), the body in
# E2E_BODY, the headers in the file $E2E_TMP/last.headers. Never follows proxies from the
# environment. Usage: e2e_request [CURL ARGS...] URL
e2e_request() {
    local body_file="$E2E_TMP/last.body"
    E2E_STATUS=$(curl --silent --show-error --noproxy '*' --max-time 10 \
        --output "$body_file" --dump-header "$E2E_TMP/last.headers" \
        --write-out '%{http_code}' "$@" 2>"$E2E_TMP/last.curl.err")
    [[ -n $E2E_STATUS ]] || E2E_STATUS=000
    # shellcheck disable=SC2034 # read by the scripts that source this file
    E2E_BODY=$(cat "$body_file" 2>/dev/null)
}

# Prints every value of response header NAME (case-insensitive) of the last e2e_request,
# one per line, without the trailing CR.
e2e_header_values() {
    local name=${1,,}
    [[ -f "$E2E_TMP/last.headers" ]] || return 0
    tr -d '\r' <"$E2E_TMP/last.headers" | while IFS= read -r line; do
        if [[ ${line,,} == "$name:"* ]]; then
            local value=${line#*:}
            printf '%s\n' "${value# }"
        fi
    done
}

# Prints the first value of response header NAME of the last e2e_request ("" if absent).
e2e_header() {
    e2e_header_values "$1" | head -n 1
}

# Succeeds when WORD equals one of the following arguments. Usage: e2e_in_list WORD ITEM...
# (Not `printf ... | grep -qx`: under pipefail, grep -q exiting at the first match can kill
# printf with SIGPIPE and fail the pipeline.)
e2e_in_list() {
    local word=$1 item
    shift
    for item in "$@"; do
        [[ $item == "$word" ]] && return 0
    done
    return 1
}

# Records one passed or failed check. Usage: e2e_check DESCRIPTION COMMAND [ARGS...]
e2e_check() {
    local description=$1
    shift
    if "$@"; then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   - %s\n' "$description"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        printf 'FAIL - %s\n' "$description"
    fi
}

# Records one check that passes when COMMAND fails. Usage: e2e_check_not DESCRIPTION COMMAND...
e2e_check_not() {
    local description=$1
    shift
    if "$@"; then
        E2E_FAILED=$((E2E_FAILED + 1))
        printf 'FAIL - %s\n' "$description"
    else
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   - %s\n' "$description"
    fi
}

# Checks that ACTUAL equals EXPECTED. Usage: e2e_expect_eq DESCRIPTION EXPECTED ACTUAL
e2e_expect_eq() {
    if [[ $3 == "$2" ]]; then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   - %s\n' "$1"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        printf 'FAIL - %s\n       expected: %s\n       actual:   %s\n' "$1" "$2" "$3"
    fi
}

# Checks that ACTUAL matches the extended regular expression PATTERN (bash =~).
# Usage: e2e_expect_match DESCRIPTION PATTERN ACTUAL
e2e_expect_match() {
    if [[ $3 =~ $2 ]]; then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   - %s\n' "$1"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        printf 'FAIL - %s\n       pattern: %s\n       actual:  %s\n' "$1" "$2" "$3"
    fi
}

# Prints the summary line and exits: 0 if nothing failed and something passed, else 1.
e2e_finish() {
    printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
    ((E2E_FAILED == 0 && E2E_PASSED > 0)) && exit 0
    exit 1
}

# Prints the last lines of FILE on stderr, to explain a failed start-up.
e2e_show_log() {
    e2e_log "---- last lines of $1 ----"
    tail -n "${2:-30}" "$1" >&2 2>/dev/null
    e2e_log "----"
}

# keygate's environment variables (CONTRACT §4) that e2e_start_keygate clears, so that the
# developer's own environment cannot change what a test sees.
E2E_KEYGATE_ENV_VARS=(API_KEY_ADMIN API_KEY_DEFAULT API_KEY_ADMIN_FILE API_KEY_DEFAULT_FILE
    KEYGATE_DEFAULT_ROLE KEYGATE_DEFAULT_TENANT KEYGATE_CONFIG KEYGATE_LISTEN KEYGATE_ENV_FILE
    KEYGATE_HASH_PEPPER KEYGATE_GRACE_PERIOD KEYGATE_TRUSTED_PROXIES KEYGATE_AUDIT_LOG
    KEYGATE_LOG_LEVEL KEYGATE_LOG_FORMAT KEYGATE_STATE_DIR KEYGATE_GRPC_LISTEN
    KEYGATE_ADMIN_LISTEN)

# True once keygate on KEYGATE_PORT answers /readyz with 200, or once KEYGATE_PID is gone
# (the caller tells which).
e2e_keygate_ready_or_gone() {
    kill -0 "$KEYGATE_PID" 2>/dev/null || return 0
    curl --silent --fail --noproxy '*' --max-time 1 --output /dev/null \
        "http://127.0.0.1:$KEYGATE_PORT/readyz"
}

# Starts `keygate serve --config CONFIG` on a free port of 127.0.0.1 and waits until it is
# ready. Sets KEYGATE_PORT and KEYGATE_PID; its operational log is $E2E_TMP/keygate.log,
# its audit log $E2E_TMP/audit.log. Extra VAR=value arguments are added to its environment.
# Usage: e2e_start_keygate BINARY CONFIG [VAR=value...]
e2e_start_keygate() {
    local binary=$1 config=$2 attempt
    shift 2
    [[ -x $binary ]] || e2e_die "keygate binary '$binary' not found or not executable"
    local unset_args=() var
    for var in "${E2E_KEYGATE_ENV_VARS[@]}"; do
        unset_args+=(-u "$var")
    done
    for attempt in 1 2 3; do
        e2e_pick_port
        KEYGATE_PORT=$E2E_PORT
        e2e_spawn "$E2E_TMP/keygate.out" "$E2E_TMP/keygate.log" \
            env "${unset_args[@]}" KEYGATE_AUDIT_LOG="$E2E_TMP/audit.log" KEYGATE_LOG_LEVEL=info "$@" \
            "$binary" serve --config "$config" --listen "127.0.0.1:$KEYGATE_PORT"
        KEYGATE_PID=$E2E_SPAWNED_PID
        e2e_wait_until 20 e2e_keygate_ready_or_gone || {
            e2e_show_log "$E2E_TMP/keygate.log"
            e2e_die "keygate did not become ready on 127.0.0.1:$KEYGATE_PORT within 20 s"
        }
        kill -0 "$KEYGATE_PID" 2>/dev/null && return 0
        # It exited: most likely the port was taken after it was picked. Try another.
        e2e_stop_spawned "$KEYGATE_PID"
        e2e_log "keygate exited during start-up (attempt $attempt)"
        e2e_show_log "$E2E_TMP/keygate.log" 10
    done
    e2e_die "keygate did not start"
}

# Replaces FROM with TO in FILE and fails the run unless FROM was there and is gone: if an
# example changes, its test must be updated rather than silently test something else.
# Usage: e2e_substitute FILE FROM TO
e2e_substitute() {
    local file=$1 from=$2 to=$3
    grep -qF -- "$from" "$file" || e2e_die "'$from' not found in $file: update the test"
    local escaped_from escaped_to
    escaped_from=$(printf '%s' "$from" | sed 's/[][\\.*^$|/]/\\&/g')
    escaped_to=$(printf '%s' "$to" | sed 's/[\\&|]/\\&/g')
    sed -i "s|$escaped_from|$escaped_to|g" "$file"
    ! grep -qF -- "$from" "$file" || e2e_die "'$from' still in $file"
}

# True once the nginx of e2e_start_example_nginx listens on its gateway port, or has exited.
e2e_example_nginx_up() {
    kill -0 "$E2E_NGINX_PID" 2>/dev/null || return 0
    e2e_port_open "$E2E_GATEWAY_PORT"
}

# Starts real nginx with examples/nginx/ as shipped, only its ports, log directory and temp
# paths changed: the gateway (listen 8080) on a free port, its data API upstream
# (127.0.0.1:8000) at UPSTREAM_PORT, keygate (127.0.0.1:8090) at KEYGATE_PORT. Everything
# lives under $E2E_TMP/nginx (E2E_NGINX_PREFIX; the config in $E2E_NGINX_PREFIX/conf). An
# optional EXTRA_FN is called after each config is written, to add files to its conf.d/
# (which the example includes). Sets E2E_GATEWAY_PORT and E2E_NGINX_PID.
# Usage: e2e_start_example_nginx SOURCE_DIR UPSTREAM_PORT KEYGATE_PORT [EXTRA_FN]
e2e_start_example_nginx() {
    local source_dir=$1 upstream_port=$2 keygate_port=$3 extra_fn=${4:-}
    E2E_NGINX_PREFIX=$E2E_TMP/nginx
    local conf=$E2E_NGINX_PREFIX/conf attempt globals
    globals="daemon off; pid $E2E_NGINX_PREFIX/nginx.pid;"
    globals+=" error_log $E2E_NGINX_PREFIX/logs/error.log info;"
    # As root, nginx would run its workers as `nobody`, who cannot enter the temp dir.
    ((EUID == 0)) && globals+=" user root;"
    for attempt in 1 2 3; do
        e2e_pick_port
        E2E_GATEWAY_PORT=$E2E_PORT
        rm -rf "$conf"
        mkdir -p "$conf" "$E2E_NGINX_PREFIX/logs" "$E2E_NGINX_PREFIX/temp"
        cp -R "$source_dir/examples/nginx/." "$conf/"
        e2e_substitute "$conf/nginx.conf" "listen 8080;" "listen 127.0.0.1:$E2E_GATEWAY_PORT;"
        e2e_substitute "$conf/nginx.conf" "server 127.0.0.1:8000;" "server 127.0.0.1:$upstream_port;"
        e2e_substitute "$conf/nginx.conf" "/var/log/nginx/" "$E2E_NGINX_PREFIX/logs/"
        e2e_substitute "$conf/conf.d/keygate.conf" "server 127.0.0.1:8090;" \
            "server 127.0.0.1:$keygate_port;"
        # The compiled-in temp paths are in /var/lib/nginx.
        local kind
        for kind in client_body proxy fastcgi uwsgi scgi; do
            printf '%s_temp_path %s/temp/%s;\n' "$kind" "$E2E_NGINX_PREFIX" "$kind"
        done >"$conf/conf.d/e2e-temp-paths.conf"
        [[ -z $extra_fn ]] || "$extra_fn"
        nginx -t -q -p "$E2E_NGINX_PREFIX/" -c "$conf/nginx.conf" \
            -e "$E2E_NGINX_PREFIX/logs/error.log" -g "$globals" 2>"$E2E_TMP/nginx-t.err" || {
            cat "$E2E_TMP/nginx-t.err" >&2
            e2e_die "nginx -t rejects the example config"
        }
        e2e_spawn "$E2E_TMP/nginx.out" "$E2E_TMP/nginx.err" \
            nginx -p "$E2E_NGINX_PREFIX/" -c "$conf/nginx.conf" \
            -e "$E2E_NGINX_PREFIX/logs/error.log" -g "$globals"
        E2E_NGINX_PID=$E2E_SPAWNED_PID
        e2e_wait_until 10 e2e_example_nginx_up || e2e_die "nginx did not listen within 10 s"
        kill -0 "$E2E_NGINX_PID" 2>/dev/null && return 0
        e2e_stop_spawned "$E2E_NGINX_PID"
        e2e_log "nginx exited during start-up (attempt $attempt)"
        e2e_show_log "$E2E_NGINX_PREFIX/logs/error.log" 10
    done
    e2e_die "nginx did not start"
}

# True once the Caddy of e2e_start_example_caddy listens on its gateway port, or has exited.
e2e_example_caddy_up() {
    kill -0 "$E2E_CADDY_PID" 2>/dev/null || return 0
    e2e_port_open "$E2E_CADDY_GATEWAY_PORT"
}

# Starts real Caddy with examples/caddy/Caddyfile as shipped, only its ports changed: the
# gateway (:8080) on a free port of 127.0.0.1, its data API upstream (127.0.0.1:8000) at
# UPSTREAM_PORT, keygate (127.0.0.1:8090) at KEYGATE_PORT. Everything lives under
# $E2E_TMP/caddy (the config is $E2E_TMP/caddy/Caddyfile, Caddy's log caddy.log there).
# Sets E2E_CADDY_GATEWAY_PORT and E2E_CADDY_PID.
# Usage: e2e_start_example_caddy SOURCE_DIR UPSTREAM_PORT KEYGATE_PORT
e2e_start_example_caddy() {
    local source_dir=$1 upstream_port=$2 keygate_port=$3 attempt
    local dir=$E2E_TMP/caddy
    for attempt in 1 2 3; do
        e2e_pick_port
        E2E_CADDY_GATEWAY_PORT=$E2E_PORT
        rm -rf "$dir"
        mkdir -p "$dir/data" "$dir/config"
        cp "$source_dir/examples/caddy/Caddyfile" "$dir/Caddyfile"
        e2e_substitute "$dir/Caddyfile" ":8080 {" "http://127.0.0.1:$E2E_CADDY_GATEWAY_PORT {"
        e2e_substitute "$dir/Caddyfile" "reverse_proxy 127.0.0.1:8000" \
            "reverse_proxy 127.0.0.1:$upstream_port"
        e2e_substitute "$dir/Caddyfile" "forward_auth 127.0.0.1:8090" \
            "forward_auth 127.0.0.1:$keygate_port"
        # Caddy keeps state in $XDG_DATA_HOME/caddy and $XDG_CONFIG_HOME/caddy.
        XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config HOME=$dir \
            caddy validate --config "$dir/Caddyfile" --adapter caddyfile \
            >"$dir/validate.log" 2>&1 || {
            tail -n 5 "$dir/validate.log" >&2
            e2e_die "caddy validate rejects the example Caddyfile"
        }
        e2e_spawn "$dir/caddy.out" "$dir/caddy.log" \
            env XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" HOME="$dir" \
            caddy run --config "$dir/Caddyfile" --adapter caddyfile
        E2E_CADDY_PID=$E2E_SPAWNED_PID
        e2e_wait_until 10 e2e_example_caddy_up || e2e_die "caddy did not listen within 10 s"
        kill -0 "$E2E_CADDY_PID" 2>/dev/null && return 0
        e2e_stop_spawned "$E2E_CADDY_PID"
        e2e_log "caddy exited during start-up (attempt $attempt)"
        e2e_show_log "$dir/caddy.log" 10
    done
    e2e_die "caddy did not start"
}

# Run as a script (as tests/CMakeLists.txt does with every e2e/*.sh): test the helpers.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -uo pipefail
    e2e_require_commands curl
    e2e_init

    e2e_pick_port
    first=$E2E_PORT
    e2e_pick_port
    second=$E2E_PORT
    e2e_expect_match "e2e_pick_port sets a port number" '^[0-9]+$' "$first"
    e2e_check_not "e2e_pick_port: nothing listens on the port" e2e_port_open "$first"
    e2e_check "e2e_pick_port: never the same port twice" test "$first" != "$second"

    # A process started with e2e_spawn is stopped by e2e_stop_spawned.
    e2e_spawn "$E2E_TMP/sleep.out" "$E2E_TMP/sleep.err" sleep 30
    sleeper=$E2E_SPAWNED_PID
    e2e_check "e2e_spawn starts the process" kill -0 "$sleeper"
    # Signal it only once it is sleep, not the forked shell that is about to exec it.
    e2e_wait_until 5 grep -qx sleep "/proc/$sleeper/comm"
    e2e_stop_spawned "$sleeper"
    e2e_check_not "e2e_stop_spawned stops it" kill -0 "$sleeper" 2>/dev/null
    e2e_expect_eq "e2e_stop_spawned forgets it" 0 "${#E2E_PIDS[@]}"

    e2e_check "e2e_wait_until returns 0 once the condition holds" e2e_wait_until 2 true
    e2e_check_not "e2e_wait_until returns 1 after its deadline" e2e_wait_until 1 false

    # Header parsing of a saved response.
    printf 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: ApiKey header="X-API-Key"\r\nx-a: 1\r\nX-A: 2\r\n\r\n' \
        >"$E2E_TMP/last.headers"
    e2e_expect_eq "e2e_header: case-insensitive, no CR" 'ApiKey header="X-API-Key"' \
        "$(e2e_header www-authenticate)"
    e2e_expect_eq "e2e_header_values: every value" $'1\n2' "$(e2e_header_values X-A)"
    e2e_expect_eq "e2e_header: absent is empty" "" "$(e2e_header Retry-After)"

    e2e_check "e2e_in_list: the first item" e2e_in_list libc6 libc6 libgcc-s1
    e2e_check "e2e_in_list: the last item" e2e_in_list zlib1g libc6 zlib1g
    e2e_check_not "e2e_in_list: whole words only" e2e_in_list libc libc6 libgcc-s1
    e2e_check_not "e2e_in_list: an empty list" e2e_in_list libc6

    # Nothing listens on an unused port: curl's status is 000.
    e2e_request "http://127.0.0.1:$second/"
    e2e_expect_eq "e2e_request: 000 when nothing answers" 000 "$E2E_STATUS"

    e2e_finish
fi
