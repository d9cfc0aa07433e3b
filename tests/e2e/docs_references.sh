#!/usr/bin/env bash
# What users read points only at what users have: no file they get (docs/, examples/, api/,
# helm/, packaging/, README.md, env.example, keys.example.yaml) cites "CONTRACT" or its
# sections ("§5"): that document is the project's own, not shipped. They link to docs/.
#
# Usage: bash docs_references.sh PATH_TO_KEYGATE SOURCE_DIR (the binary is not used)
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
SOURCE_DIR=$2
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"
e2e_init

cd "$SOURCE_DIR" || e2e_die "no source directory $SOURCE_DIR"
shipped=(docs examples api helm packaging README.md env.example keys.example.yaml)
for path in "${shipped[@]}"; do
    [[ -e $path ]] || e2e_die "$path is missing"
done
e2e_expect_eq "no shipped file cites CONTRACT" "" \
    "$(grep -rn --binary-files=without-match 'CONTRACT' "${shipped[@]}")"
e2e_expect_eq "no shipped file cites a section sign (§)" "" \
    "$(grep -rn --binary-files=without-match '§' "${shipped[@]}")"
e2e_finish
