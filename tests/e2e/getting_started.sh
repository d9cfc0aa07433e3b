#!/usr/bin/env bash
# End-to-end: docs/getting-started.md, steps 2 to 6, followed the way a newcomer would, so the
# page cannot rot. The page itself is the test data: the key file is its step-3 YAML block,
# the commands are its `$ ` lines (run as written, with `keygate` the binary under test, KEY
# the freshly generated key and the ports rewritten to free ones), and the expected outputs
# are the lines the page prints under each command.
#
#   2. keygate generate --tenant acme_corp   the output has the page's shape
#   3. keys.yaml                             the page's block, with the generated hash
#   4. validate --strict, check              the exact lines the page shows, exit codes 0/1
#   5. serve, the three curls                status, the headers and bodies shown; then edit the
#                                            file while it runs (in force within 2 s), break it
#                                            (logged, the last good keys keep serving), undo it
#   6. the query service --behind-proxy, real nginx with examples/nginx/ (only ports, logs
#      and temp paths changed), the four curls through nginx with the exact bodies shown
#
# Nothing is written to the source tree: the walkthrough happens in a temp dir.
# Usage: bash getting_started.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs nginx (with http_auth_request_module), python3 and curl. Never skips.
# Set E2E_KEEP_TMP=1 to keep the temp dir (key file, configs and logs) for debugging.
#
# shellcheck disable=SC2016 # the page's commands and '$1' in bash -c are meant unexpanded
# shellcheck disable=SC2317 # the small predicates are called through e2e_wait_until / e2e_check
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
SOURCE_DIR=$(cd "$2" && pwd) || exit 2
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"
[[ -x $1 ]] || e2e_die "keygate binary '$1' not found or not executable"
KEYGATE_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

# Debian installs nginx in /usr/sbin, which a non-root PATH may lack.
[[ :$PATH: == *:/usr/sbin:* ]] || PATH=$PATH:/usr/sbin
e2e_require_commands nginx curl python3 sha256sum awk sed grep sort
nginx -V 2>&1 | grep -c -- '--with-http_auth_request_module' >/dev/null ||
    e2e_die "this nginx lacks http_auth_request_module (Debian's nginx package has it)"

DOC=$SOURCE_DIR/docs/getting-started.md
[[ -f $DOC ]] || e2e_die "$DOC not found"
# The query service imports its sibling module: no __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

e2e_init
e2e_log "temp dir: $E2E_TMP"
WORK=$E2E_TMP/newcomer # the newcomer's directory: keys.yaml lives here, nothing else
SHIM=$E2E_TMP/bin      # `keygate` and `curl` as the page's commands find them
mkdir -p "$WORK" "$SHIM"
ln -s "$KEYGATE_BIN" "$SHIM/keygate"
# The page's curls have no timeout and would use a proxy from the environment.
printf '#!/bin/sh\nexec %q --noproxy "*" --max-time 10 "$@"\n' "$(command -v curl)" >"$SHIM/curl"
chmod +x "$SHIM/curl"
KEYGATE_PORT=8090 # until keygate runs on its own port
GATEWAY_PORT=8080 # until nginx does

# --- reading the page ------------------------------------------------------------------------

# Prints fenced code block number N (from 1) of the section whose heading starts with
# "## SECTION" (e.g. "4."), without its fences.
doc_block() {
    awk -v section="## $1" -v want="$2" '
        /^```/ {
            if (fenced) { fenced = 0; if (in_section && n == want) exit }
            else { fenced = 1; if (in_section) n++ }
            next
        }
        !fenced && /^## / { in_section = (index($0, section) == 1); next }
        fenced && in_section && n == want { print }
    ' "$DOC"
}

# Sets PAGE_CMD to the first `$ ` command of block N of SECTION that contains TEXT (without
# the "$ " and a trailing "# comment"), and PAGE_OUT to the lines the page shows under it.
# Fails the run if the page has no such command: the test must follow the page.
page_command() {
    local section=$1 n=$2 text=$3 block
    block=$(doc_block "$section" "$n")
    PAGE_CMD=$(printf '%s\n' "$block" | awk -v text="$text" \
        '/^\$ / && index($0, text) { sub(/^\$ /, ""); sub(/[ \t]+#[ \t].*$/, ""); print; exit }')
    [[ -n $PAGE_CMD ]] ||
        e2e_die "docs/getting-started.md step $section has no command with '$text': update the test"
    PAGE_OUT=$(printf '%s\n' "$block" | awk -v text="$text" \
        'found && /^\$ / { exit } found { print } !found && /^\$ / && index($0, text) { found = 1 }')
}

# Runs PAGE_CMD as the newcomer would, in their directory, with KEY set and the ports
# rewritten. Sets RUN_OUT (stdout), RUN_ERR (stderr) and RUN_RC.
UNSET_KEYGATE_ENV=()
for var in "${E2E_KEYGATE_ENV_VARS[@]}"; do UNSET_KEYGATE_ENV+=(-u "$var"); done
run_page_command() {
    local cmd=$PAGE_CMD
    cmd=${cmd//127.0.0.1:8090/127.0.0.1:$KEYGATE_PORT}
    cmd=${cmd//127.0.0.1:8080/127.0.0.1:$GATEWAY_PORT}
    (cd "$WORK" && env "${UNSET_KEYGATE_ENV[@]}" PATH="$SHIM:$PATH" KEY="${KEY:-}" \
        bash -c "$cmd") >"$E2E_TMP/run.out" 2>"$E2E_TMP/run.err"
    RUN_RC=$?
    RUN_OUT=$(cat "$E2E_TMP/run.out")
    RUN_ERR=$(cat "$E2E_TMP/run.err")
}

# True if ACTUAL equals EXPECTED, where "..." in EXPECTED stands for any text (the page
# elides the middle of long lines that way).
elided_match() {
    local pattern=$1 rest=$2 part first=1
    while [[ $pattern == *...* ]]; do
        part=${pattern%%...*}
        pattern=${pattern#*...}
        if ((first)); then
            [[ $rest == "$part"* ]] || return 1
            rest=${rest#"$part"}
        else
            [[ $rest == *"$part"* ]] || return 1
            rest=${rest#*"$part"}
        fi
        first=0
    done
    if ((first)); then [[ $rest == "$pattern" ]]; else [[ $rest == *"$pattern" ]]; fi
}

# Checks that ACTUAL matches EXPECTED with its "..." elisions.
# Usage: expect_elided DESCRIPTION EXPECTED ACTUAL
expect_elided() {
    if elided_match "$2" "$3"; then
        e2e_check "$1" true
    else
        e2e_check "$1" false
        printf '       expected: %s\n       actual:   %s\n' "$2" "$3"
    fi
}

# Splits `curl -i` style text into HTTP_STATUS_LINE, HTTP_HEADERS (array of "name: value",
# the name lowercased) and HTTP_BODY. The page shows a subset of the headers and may leave
# out the blank line before the body.
parse_http() {
    local line in_body=0 first=1 body=()
    HTTP_STATUS_LINE=""
    HTTP_HEADERS=()
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        if ((first)); then
            HTTP_STATUS_LINE=$line
            first=0
        elif ((!in_body)) && [[ $line =~ ^([A-Za-z0-9-]+):\ ?(.*)$ ]]; then
            HTTP_HEADERS+=("${BASH_REMATCH[1],,}: ${BASH_REMATCH[2]}")
        elif ((!in_body)) && [[ -z $line ]]; then
            in_body=1
        else
            in_body=1
            body+=("$line")
        fi
    done <<<"$1"
    HTTP_BODY=$(printf '%s\n' "${body[@]}")
    HTTP_BODY=${HTTP_BODY%$'\n'}
}

# The X-Auth-* lines of HTTP_HEADERS, sorted, one a line.
x_auth_headers() {
    printf '%s\n' "${HTTP_HEADERS[@]}" | grep '^x-auth-' | LC_ALL=C sort
}

# Checks that the `curl -i` output ACTUAL shows what the page's EXPECTED shows: the status
# line, every header shown with its value, the body (if shown). With "exact-x-auth", the
# response's X-Auth-* headers must also be exactly the ones shown.
# Usage: expect_http DESCRIPTION EXPECTED ACTUAL [exact-x-auth]
expect_http() {
    local description=$1 mode=${4:-}
    parse_http "$2"
    local want_status=$HTTP_STATUS_LINE want_body=$HTTP_BODY want_headers=("${HTTP_HEADERS[@]}")
    local want_x_auth
    want_x_auth=$(x_auth_headers)
    parse_http "$3"
    e2e_expect_eq "$description: status line" "$want_status" "$HTTP_STATUS_LINE"
    local header name got
    for header in "${want_headers[@]}"; do
        name=${header%%:*}
        got=$(printf '%s\n' "${HTTP_HEADERS[@]}" | grep -m1 -F -- "$name: " | grep "^$name: ")
        e2e_expect_eq "$description: $name" "$header" "$got"
    done
    if [[ $mode == exact-x-auth ]]; then
        e2e_expect_eq "$description: exactly the X-Auth-* headers shown" "$want_x_auth" \
            "$(x_auth_headers)"
    fi
    [[ -z $want_body ]] || e2e_expect_eq "$description: body" "$want_body" "$HTTP_BODY"
}

# --- 2. Make a key ---------------------------------------------------------------------------
page_command 2. 1 "keygate generate"
e2e_expect_eq "step 2: the command" "keygate generate --tenant acme_corp" "$PAGE_CMD"
page_out=$PAGE_OUT
run_page_command
e2e_expect_eq "step 2: generate exits 0" 0 "$RUN_RC"
e2e_expect_eq "step 2: nothing on stderr" "" "$RUN_ERR"

# The page's example key and hash, and the generated ones.
doc_key=$(sed -n 2p <<<"$page_out")
doc_hash=$(sed -n 3p <<<"$page_out")
KEY=$(sed -n 2p <<<"$RUN_OUT")
HASH=$(sed -n 3p <<<"$RUN_OUT")
KEY_SHAPE='^pk_acme_corp_[A-Za-z0-9]{36}$' # {prefix}_{tenant}_{30 random}{6 checksum}
HASH_SHAPE='^sha256:[0-9a-f]{64}$'
e2e_expect_match "step 2: the page's key has the documented shape" "$KEY_SHAPE" "$doc_key"
e2e_expect_match "step 2: the page's hash line" "$HASH_SHAPE" "$doc_hash"
e2e_expect_match "step 2: line 2 is a new key pk_acme_corp_..." "$KEY_SHAPE" "$KEY"
e2e_expect_match "step 2: line 3 is its sha256: hash" "$HASH_SHAPE" "$HASH"
[[ $KEY =~ $KEY_SHAPE && $HASH =~ $HASH_SHAPE ]] || e2e_die "no key and hash to go on with"
e2e_check "step 2: the key is not the page's" test "$KEY" != "$doc_key"
e2e_expect_eq "step 2: the hash is the SHA-256 of the key" "$HASH" \
    "sha256:$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)"
e2e_expect_eq "step 2: the page's hash is the SHA-256 of the page's key" "$doc_hash" \
    "sha256:$(printf '%s' "$doc_key" | sha256sum | cut -d' ' -f1)"
# The rest of the output is the page's, with this key's hash in place of the page's.
doc_hex=${doc_hash#sha256:}
hex=${HASH#sha256:}
expected=${page_out//$doc_key/$KEY}
expected=${expected//$doc_hex/$hex}
expected=${expected//${doc_hex:0:12}/${hex:0:12}}
e2e_expect_eq "step 2: the output is the page's (comment, key, hash, pasteable entry)" \
    "$expected" "$RUN_OUT"

# --- 3. Write the key file -------------------------------------------------------------------
key_file_text=$(doc_block 3. 1)
[[ $key_file_text == *"$doc_hash"* ]] ||
    e2e_die "the step-3 key file does not use the step-2 hash: update the page or the test"
printf '%s\n' "${key_file_text//$doc_hash/$HASH}" >"$WORK/keys.yaml"
cp "$WORK/keys.yaml" "$E2E_TMP/keys.page.yaml"
schema_ref=$(sed -n 's/^# yaml-language-server: \$schema=\(.*\)$/\1/p' <<<"$key_file_text")
e2e_check "step 3: the schema the first line names exists (relative to a clone's root)" \
    test -n "$schema_ref" -a -f "$SOURCE_DIR/$schema_ref"

# --- 4. Check it -----------------------------------------------------------------------------
page_command 4. 1 "KEY="
e2e_expect_eq "step 4: the page's KEY is its step-2 key" "KEY=$doc_key" "$PAGE_CMD"

page_command 4. 1 "keygate validate"
run_page_command
e2e_expect_eq "step 4: validate --strict output" "$PAGE_OUT" "$RUN_OUT"
e2e_expect_eq "step 4: validate --strict exits 0" 0 "$RUN_RC"

page_command 4. 1 "/v1/datasets/orders/rows"
run_page_command
e2e_expect_eq "step 4: check orders: the JSON line shown" "$PAGE_OUT" "$RUN_OUT"
e2e_expect_eq "step 4: check orders: exit 0 (allowed)" 0 "$RUN_RC"

page_command 4. 1 "/v1/datasets/customers/rows"
run_page_command
expect_elided "step 4: check customers: the line shown ('...' elided)" "$PAGE_OUT" "$RUN_OUT"
e2e_expect_eq "step 4: check customers: exit 1 (denied)" 1 "$RUN_RC"

# --- 5. Serve it -----------------------------------------------------------------------------
[[ $(doc_block 5. 1) == "keygate serve --config keys.yaml"* ]] ||
    e2e_die "step 5 no longer starts with 'keygate serve --config keys.yaml': update the test"
# The page's serve, on a free port; the audit log where the page says it goes (stdout).
e2e_start_keygate "$KEYGATE_BIN" "$WORK/keys.yaml" KEYGATE_AUDIT_LOG=stdout
e2e_log "keygate ready on 127.0.0.1:$KEYGATE_PORT"
KEYGATE_URL=http://127.0.0.1:$KEYGATE_PORT

page_command 5. 2 "/readyz"
run_page_command
expect_http "step 5: /readyz" "$PAGE_OUT" "$RUN_OUT"

page_command 5. 2 "X-Original-URI: /v1/datasets/orders/rows"
run_page_command
expect_http "step 5: /auth with the key" "$PAGE_OUT" "$RUN_OUT" exact-x-auth

page_command 5. 2 "curl -i http://127.0.0.1:8090/auth"
run_page_command
expect_http "step 5: /auth without a key" "$PAGE_OUT" "$RUN_OUT" exact-x-auth

# Two decisions so far (/readyz is none): one JSON object each, on stdout.
audit_events() { grep -c '^{.*"event":"auth".*}$' "$E2E_TMP/keygate.out"; }
audit_has_two() { (($(audit_events) >= 2)); }
e2e_wait_until 5 audit_has_two
e2e_expect_eq "step 5: the audit log on stdout, one JSON object per decision" 2 "$(audit_events)"
e2e_check_not "step 5: no audit event in the operational log (stderr)" \
    grep -q '"event":"auth"' "$E2E_TMP/keygate.log"

# Edits while it runs. Prints the status of /auth for KEY on dataset DATASET.
auth_status() {
    e2e_request -H "X-API-Key: $KEY" -H "X-Original-URI: /v1/datasets/$1/rows" "$KEYGATE_URL/auth"
    printf '%s' "$E2E_STATUS"
}
# Polls until /auth for DATASET answers STATUS (at most 5 s); sets WAITED_MS.
wait_for_auth() {
    local dataset=$1 status=$2 start=${EPOCHREALTIME/./} now
    while true; do
        now=${EPOCHREALTIME/./}
        e2e_request -H "X-API-Key: $KEY" -H "X-Original-URI: /v1/datasets/$dataset/rows" \
            "$KEYGATE_URL/auth"
        [[ $E2E_STATUS == "$status" ]] && break
        ((now - start < 5000000)) || break
        sleep 0.05
    done
    WAITED_MS=$(((now - start) / 1000))
    [[ $E2E_STATUS == "$status" ]]
}
# The reload budget the page promises ("within 2 seconds").
within_2s() { ((WAITED_MS <= 2000)); }

e2e_expect_eq "step 5: before the edit, customers is forbidden" 403 "$(auth_status customers)"
sed -i 's/allowed_datasets: \[orders\]/allowed_datasets: [orders, customers]/' "$WORK/keys.yaml"
grep -qF 'allowed_datasets: [orders, customers]' "$WORK/keys.yaml" ||
    e2e_die "could not add customers to allowed_datasets: update the test"
e2e_check "step 5: adding customers to allowed_datasets is in force" wait_for_auth customers 200
e2e_check "step 5: ... within 2 s (took ${WAITED_MS} ms)" within_2s

failures_logged() { grep -c "reload of $WORK/keys.yaml failed; the last good keys keep serving" \
    "$E2E_TMP/keygate.log"; }
before=$(failures_logged)
one_more_failure() { (($(failures_logged) > before)); }
# A typo: the flow sequence left open.
sed -i 's/allowed_datasets: \[orders, customers\]/allowed_datasets: [orders, customers/' \
    "$WORK/keys.yaml"
e2e_check "step 5: a broken edit is logged" e2e_wait_until 5 one_more_failure
e2e_expect_eq "step 5: ... and ignored: the last good keys keep serving (customers)" 200 \
    "$(auth_status customers)"
e2e_expect_eq "step 5: ... and orders" 200 "$(auth_status orders)"
# Step 4's promise about a bad file: "keys.yaml:LINE:COL: error: MESSAGE", exit 1.
PAGE_CMD="keygate validate --strict keys.yaml"
run_page_command
e2e_expect_match "step 4 on the broken file: validate reports keys.yaml:LINE:COL: error: MESSAGE" \
    '^keys\.yaml:[0-9]+:[0-9]+: error: [a-z]' "$RUN_OUT$RUN_ERR"
e2e_expect_eq "step 4 on the broken file: validate exits 1" 1 "$RUN_RC"

# Back to the page's file, so that step 6 shows what the page shows.
cp "$E2E_TMP/keys.page.yaml" "$WORK/keys.yaml"
e2e_check "step 5: back to the page's file: customers forbidden again" wait_for_auth customers 403
e2e_check "step 5: ... within 2 s (took ${WAITED_MS} ms)" within_2s

# --- 6. Put nginx in front -------------------------------------------------------------------
# The query service, as the page starts it (on a free port, told where keygate is).
service_cmd=$(doc_block 6. 1)
[[ $service_cmd == "python3 examples/query-service/query_service.py --behind-proxy --listen 127.0.0.1:8000 &" ]] ||
    e2e_die "step 6 starts the query service differently now: update the test [$service_cmd]"
service_ready() {
    kill -0 "$SERVICE_PID" 2>/dev/null || return 0
    curl --silent --fail --noproxy '*' --max-time 1 --output /dev/null \
        "http://127.0.0.1:$QUERY_PORT/healthz"
}
for attempt in 1 2 3; do
    e2e_pick_port
    QUERY_PORT=$E2E_PORT
    # From the clone's root, as the page's relative path says.
    e2e_spawn "$E2E_TMP/service.out" "$E2E_TMP/service.log" bash -c 'cd "$1" && shift && exec "$@"' _ \
        "$SOURCE_DIR" python3 examples/query-service/query_service.py --behind-proxy \
        --listen "127.0.0.1:$QUERY_PORT" --keygate "$KEYGATE_URL"
    SERVICE_PID=$E2E_SPAWNED_PID
    e2e_wait_until 10 service_ready || e2e_die "the query service did not start within 10 s"
    kill -0 "$SERVICE_PID" 2>/dev/null && break
    e2e_stop_spawned "$SERVICE_PID"
    e2e_log "the query service exited during start-up (attempt $attempt)"
    e2e_show_log "$E2E_TMP/service.log" 10
    ((attempt < 3)) || e2e_die "the query service did not start"
done

# nginx with the example configuration as it is: only its ports, log directory and (through
# its own `include conf.d/*.conf`) temp paths changed: e2e_start_example_nginx (lib.sh).
[[ $(doc_block 6. 2) == 'sudo nginx -c "$PWD/examples/nginx/nginx.conf"'* ]] ||
    e2e_die "step 6 starts nginx differently now: update the test"
e2e_start_example_nginx "$SOURCE_DIR" "$QUERY_PORT" "$KEYGATE_PORT"
GATEWAY_PORT=$E2E_GATEWAY_PORT
NGINX_PREFIX=$E2E_NGINX_PREFIX
NGINX_PID=$E2E_NGINX_PID
e2e_log "nginx on 127.0.0.1:$GATEWAY_PORT (pid $NGINX_PID), query service on" \
    "127.0.0.1:$QUERY_PORT (pid $SERVICE_PID), keygate pid $KEYGATE_PID"

page_command 6. 3 'curl -s -H "X-API-Key: $KEY"'
run_page_command
rows_body=$PAGE_OUT
e2e_expect_eq "step 6: X-API-Key: acme_corp's orders rows, exactly" "$rows_body" "$RUN_OUT"

page_command 6. 3 "Bearer"
[[ -z $PAGE_OUT ]] || e2e_die "step 6 shows an output for the Bearer curl now: update the test"
run_page_command
e2e_expect_eq "step 6: Authorization: Bearer: the same" "$rows_body" "$RUN_OUT"

page_command 6. 3 "curl -si http://127.0.0.1:8080/v1/datasets/orders/rows"
run_page_command
expect_http "step 6: no key" "$PAGE_OUT" "$RUN_OUT"

page_command 6. 3 "/v1/datasets/customers/rows"
run_page_command
expect_http "step 6: customers" "$PAGE_OUT" "$RUN_OUT"

# --- never a full key in a log ---------------------------------------------------------------
e2e_check_not "no full key in keygate's logs" grep -qsF -- "$KEY" "$E2E_TMP/keygate.log" \
    "$E2E_TMP/keygate.out" "$E2E_TMP/service.log" "$NGINX_PREFIX/logs/access.log"

e2e_finish
