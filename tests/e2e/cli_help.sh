#!/usr/bin/env bash
# The help pages of the real binary and docs/cli.md:
#   - `keygate CMD --help`, `keygate CMD -h` and `keygate help CMD` print exactly the golden
#     page tests/data/help/CMD.txt on stdout and exit 0 (for every golden file, and every
#     command of the usage text has one);
#   - every option and environment variable a page lists appears in that command's section
#     of docs/cli.md ("## `keygate CMD ...`"), so the guide cannot fall behind the binary;
#   - an unknown command or option exits 2 with a "did you mean" on stderr.
#
# Usage: bash cli_help.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
KEYGATE=$1
SOURCE_DIR=$2
GOLDEN_DIR=$SOURCE_DIR/tests/data/help
DOC=$SOURCE_DIR/docs/cli.md
[[ -x $KEYGATE ]] || e2e_die "keygate binary '$KEYGATE' not found"
[[ -f $DOC ]] || e2e_die "$DOC not found"
e2e_init

# The section of docs/cli.md of one command: from its "## `keygate CMD" heading to the next
# "## " heading.
doc_section() {
    awk -v head="## \`keygate $1" '
        index($0, head) == 1 { inside = 1; print; next }
        inside && /^## / { inside = 0 }
        inside { print }' "$DOC"
}

# The names a help page lists: options ("  --name ...") and environment variables (the
# first column of "environment:", comma-separated).
listed_names() {
    awk '
        /^[a-z ]+:$/ { section = $0; next }
        section == "options:" && /^  --/ { print $1 }
        section == "environment:" && /^  [A-Z]/ {
            line = substr($0, 3); sub(/  .*/, "", line)
            n = split(line, names, ", "); for (i = 1; i <= n; i++) print names[i]
        }' "$1"
}

mapfile -t commands < <(sed -n 's/^  keygate \([a-z]*\).*/\1/p' <("$KEYGATE" help))
((${#commands[@]} >= 8)) || e2e_die "keygate help lists ${#commands[@]} commands"
for cmd in "${commands[@]}"; do
    e2e_check "$cmd has a golden help page" test -f "$GOLDEN_DIR/$cmd.txt"
done

for golden in "$GOLDEN_DIR"/*.txt; do
    cmd=$(basename "$golden" .txt)
    for form in "$cmd --help" "$cmd -h" "help $cmd"; do
        # shellcheck disable=SC2086 # the form is words on purpose
        "$KEYGATE" $form >"$E2E_TMP/out" 2>"$E2E_TMP/err"
        code=$?
        e2e_expect_eq "keygate $form exits 0" 0 "$code"
        e2e_check "keygate $form prints $cmd.txt" cmp -s "$golden" "$E2E_TMP/out"
        e2e_check "keygate $form writes nothing on stderr" test ! -s "$E2E_TMP/err"
    done
    doc_section "$cmd" >"$E2E_TMP/section"
    e2e_check "docs/cli.md has a section for keygate $cmd" test -s "$E2E_TMP/section"
    while read -r name; do
        e2e_check "docs/cli.md's $cmd section names $name" grep -qF -- "$name" "$E2E_TMP/section"
    done < <(listed_names "$golden")
done

"$KEYGATE" serv >"$E2E_TMP/out" 2>"$E2E_TMP/err"
e2e_expect_eq "an unknown command exits 2" 2 "$?"
e2e_expect_eq "an unknown command suggests the closest" \
    "keygate: unknown command 'serv' (did you mean 'serve'?)" "$(head -n 1 "$E2E_TMP/err")"
"$KEYGATE" serve --listn 127.0.0.1:0 >"$E2E_TMP/out" 2>"$E2E_TMP/err"
e2e_expect_eq "an unknown option exits 2" 2 "$?"
e2e_expect_eq "an unknown option suggests the closest" \
    "keygate serve: unknown option '--listn' (did you mean '--listen'?)" \
    "$(head -n 1 "$E2E_TMP/err")"
"$KEYGATE" version --help >"$E2E_TMP/out" 2>&1
e2e_expect_eq "version --help prints help, not the version" "usage: keygate version" \
    "$(head -n 1 "$E2E_TMP/out")"

e2e_finish
