#!/usr/bin/env bash
# The console samples of docs/cli.md for `keygate validate`, `keygate check` and
# `keygate report`, run against the real binary: every "$ keygate validate|check|report ..."
# line of a ```console block is run as written (with `--at` where time matters) against a
# fixture under tests/data/cli-doc/ (keys.example.yaml for `check`), and what it prints
# (stdout and stderr, in order) must be the lines the doc shows under it; a following
# "$ echo $?" gives the exit code. A sample without a fixture here, or a fixture whose
# sample left the doc, fails: the doc cannot drift from the binary.
#
# Usage: bash cli_doc_samples.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

PYTHON=/usr/bin/python3
DOC=$SOURCE_DIR/docs/cli.md
FIXTURES=$SOURCE_DIR/tests/data/cli-doc
e2e_require_commands "$PYTHON"
"$PYTHON" -c 'import yaml' 2>/dev/null || e2e_die "python3-yaml is required"
[[ -f $DOC ]] || e2e_die "$DOC not found"
e2e_init

# Each sample as three files: N.cmd (the command after "$ "), N.out (the lines shown under
# it) and, when the next command is "echo $?", N.code (the exit code shown).
mkdir -p "$E2E_TMP/samples"
"$PYTHON" - "$DOC" "$E2E_TMP/samples" <<'PY' || e2e_die "cannot read the samples of docs/cli.md"
import os, re, sys, textwrap
doc, out = sys.argv[1], sys.argv[2]
lines = open(doc, encoding="utf-8").read().split("\n")
blocks, i = [], 0
while i < len(lines):
    if lines[i].strip() == "```console":
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        body, i = [], i + 1
        while lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(body)
    i += 1
n = 0
for body in blocks:
    steps = []  # [command, [output lines]]
    for line in body:
        if line.startswith("$ "):
            steps.append([line[2:], []])
        elif steps:
            steps[-1][1].append(line)
    for k, (command, output) in enumerate(steps):
        if not re.match(r"keygate (validate|check|report)\b", command):
            continue
        n += 1
        with open(os.path.join(out, f"{n}.cmd"), "w") as f:
            f.write(command)
        with open(os.path.join(out, f"{n}.out"), "w") as f:
            f.write("".join(l + "\n" for l in output))
        if k + 1 < len(steps) and steps[k + 1][0] == "echo $?":
            with open(os.path.join(out, f"{n}.code"), "w") as f:
                f.write(steps[k + 1][1][0].strip())
PY

# `keygate` on PATH is the binary under test, so the doc's lines run as written.
mkdir -p "$E2E_TMP/bin"
ln -s "$(realpath "$KEYGATE_BIN")" "$E2E_TMP/bin/keygate"
# The public example key of keys.example.yaml's acme-analysts entry (docs/cli.md's $KEY).
EXAMPLE_KEY=$("$PYTHON" -c 'import sys, yaml
keys = yaml.safe_load(open(sys.argv[1]))["api_keys"]
print(next(k["key"] for k in keys if k["id"] == "acme-analysts"))' "$SOURCE_DIR/keys.example.yaml") ||
    e2e_die "no acme-analysts key in keys.example.yaml"

declare -A seen=()
count=0
for cmd_file in "$E2E_TMP"/samples/*.cmd; do
    [[ -e $cmd_file ]] || break
    count=$((count + 1))
    sample=${cmd_file%.cmd}
    cmd=$(<"$cmd_file")
    # The fixture of each sample: a copy in a directory of its own (nothing under tests/ is
    # written), the command as run, and the environment.
    work=$E2E_TMP/work/$(basename "$sample")
    mkdir -p "$work"
    run=$cmd
    case $cmd in
    'keygate validate keys.yaml')
        cp "$FIXTURES/validate/keys.yaml" "$work/" ;;
    'keygate validate --warn-expiring 14d keys.yaml')
        cp "$FIXTURES/expiring/keys.yaml" "$work/"
        run="$cmd --at 2026-01-01T00:00:00Z" ;;
    'keygate check --config keys.example.yaml --key - --path /v1/datasets/orders/rows <<< "$KEY"')
        cp "$SOURCE_DIR/keys.example.yaml" "$work/" ;;
    'keygate report --config keys.yaml --state-dir /var/lib/keygate')
        cp -r "$FIXTURES/report/keys.yaml" "$FIXTURES/report/state" "$work/"
        run="${cmd//\/var\/lib\/keygate/state} --at 2026-01-01T00:00:00Z" ;;
    *)
        e2e_check "docs/cli.md sample '$cmd' has a fixture in tests/e2e/cli_doc_samples.sh" false
        continue ;;
    esac
    seen[$cmd]=1
    (cd "$work" && env -i PATH="$E2E_TMP/bin:/usr/bin:/bin" KEY="$EXAMPLE_KEY" \
        bash -c "$run" >"$sample.actual" 2>&1)
    code=$?
    e2e_check "'$cmd' prints what docs/cli.md shows" cmp -s "$sample.out" "$sample.actual"
    if ! cmp -s "$sample.out" "$sample.actual"; then
        diff -u --label docs/cli.md --label keygate "$sample.out" "$sample.actual" | sed 's/^/       /'
    fi
    if [[ -f $sample.code ]]; then
        e2e_expect_eq "'$cmd' exits as docs/cli.md shows" "$(<"$sample.code")" "$code"
    fi
done
e2e_check "docs/cli.md has validate, check and report samples ($count)" test "$count" -ge 4
for documented in 'keygate validate keys.yaml' 'keygate validate --warn-expiring 14d keys.yaml' \
    'keygate check --config keys.example.yaml --key - --path /v1/datasets/orders/rows <<< "$KEY"' \
    'keygate report --config keys.yaml --state-dir /var/lib/keygate'; do
    e2e_check "docs/cli.md still shows '$documented'" test -n "${seen[$documented]:-}"
done
# No key in the output, ever (the check sample's key is public, but the rule is the rule).
e2e_check_not "no sample prints a key" grep -q -F -e "$EXAMPLE_KEY" "$E2E_TMP"/samples/*.actual
e2e_finish
