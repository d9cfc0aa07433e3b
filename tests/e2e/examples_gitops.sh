#!/usr/bin/env bash
# The GitOps tooling works with the real keygate binary:
#   - the gitleaks rule (examples/gitops/gitleaks.toml) matches every key `keygate generate`
#     and `keygate rotate` print, in the places keys leak to (YAML, env files, headers,
#     shell history), and matches no random text, hash, UUID or code identifier; its
#     entropy threshold is below a generated key's;
#   - the pre-commit hook (.pre-commit-hooks.yaml) passes a clean key file, fails a file
#     with only warnings (--strict) or errors, fails when any one of several files fails,
#     and selects key files by name;
#   - the GitHub Actions step runs as written (bash -eo pipefail, as Actions runs it):
#     exit 0 on clean files, 1 with "::error file=...,line=...,col=...::" annotations.
#
# Usage: bash examples_gitops.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML (Debian: python3-yaml). Prints "N passed, N failed" last.
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
KEYGATE_BIN=$(realpath -e "$1" 2>/dev/null) || KEYGATE_BIN=$1
SOURCE_DIR=$(cd "$2" && pwd) || { echo "no such directory: $2" >&2; exit 2; }
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"

e2e_require_commands python3 bash sed
python3 -c 'import yaml' 2>/dev/null ||
    e2e_die "python3 module 'yaml' is required (Debian: apt-get install python3-yaml)"
[[ -x $KEYGATE_BIN ]] || e2e_die "keygate binary '$KEYGATE_BIN' not found or not executable"
e2e_init

# keygate on PATH, as the hook and the workflow expect it; nothing else from the developer's
# environment that keygate reads.
mkdir -p "$E2E_TMP/bin"
ln -s "$KEYGATE_BIN" "$E2E_TMP/bin/keygate"
export PATH="$E2E_TMP/bin:$PATH"
for var in "${E2E_KEYGATE_ENV_VARS[@]}"; do unset "$var"; done

# --- gitleaks ------------------------------------------------------------------------------
keys_file=$E2E_TMP/generated.txt
{
    keygate generate --tenant acme_corp --count 20
    keygate generate --tenant globex --prefix sk --count 5
    keygate generate --tenant a --prefix P --count 5
    keygate generate --tenant team-data_eu-west-1 --prefix live2024 --count 5
} >"$keys_file" 2>"$E2E_TMP/generate.err" || e2e_die "keygate generate failed: $(cat "$E2E_TMP/generate.err")"

# A rotated entry's new key, too.
cat >"$E2E_TMP/rotate.yaml" <<'EOF'
api_keys:
  - id: acme-etl
    key_hash: "sha256:1111111111111111111111111111111111111111111111111111111111111111"
    tenant: acme_corp
    role: viewer
EOF
keygate rotate --config "$E2E_TMP/rotate.yaml" --id acme-etl --grace 1d >>"$keys_file" 2>"$E2E_TMP/rotate.err" ||
    e2e_die "keygate rotate failed: $(cat "$E2E_TMP/rotate.err")"

python3 - "$SOURCE_DIR/examples/gitops/gitleaks.toml" "$keys_file" >"$E2E_TMP/gitleaks.out" 2>&1 <<'PYTHON'
import math
import re
import secrets
import string
import sys
import tomllib
import uuid

config_path, keys_path = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(description, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {description}")
    else:
        failed += 1
        print(f"FAIL - {description}")
        for line in str(detail).splitlines():
            print(f"       {line}")


def entropy(text):
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


with open(config_path, "rb") as f:
    rule = next(r for r in tomllib.load(f)["rules"] if r["id"] == "keygate-api-key")
# The rule is RE2 (Go); this one uses only syntax that Python's re reads the same way.
regex = re.compile(rule["regex"])
threshold = float(rule.get("entropy", 0))

with open(keys_path, encoding="utf-8") as f:
    lines = [line.strip() for line in f]
key_shape = re.compile(r"^[A-Za-z0-9]+_[A-Za-z0-9_-]+_[0-9A-Za-z]{36}$")
keys = [line for line in lines if key_shape.match(line)]
check("keygate generate and rotate printed keys to check", len(keys) == 36, len(keys))

# gitleaks reports a finding when the regex matches and the match's entropy is above the
# rule's threshold.
def finds(text):
    return [m.group(0) for m in regex.finditer(text) if entropy(m.group(0)) > threshold]


missed = [k for k in keys if finds(k) != [k]]
check("the rule matches every generated key, whole", not missed, "\n".join(missed[:5]))
low = [k for k in keys if entropy(k) <= threshold]
check(f"every generated key is above the entropy threshold {threshold}", not low, low[:3])

key = keys[0]
contexts = [
    f'    key: "{key}"',
    f"API_KEY_ADMIN={key}",
    f"X-API-Key: {key}",
    f"curl -H 'Authorization: Bearer {key}' https://data.example.com/v1/query",
    f"export KEYGATE_KEY='{key}'",
    f'{{"api_key": "{key}"}}',
    f"https://data.example.com/v1/query?api_key={key}&x=1",
]
for text in contexts:
    check(f"the rule finds the key in: {text[:40].replace(key, 'KEY')}...", finds(text) == [key],
          finds(text))

alphabet = string.ascii_letters + string.digits
negatives = [
    "the quick brown fox jumps over the lazy dog " * 3,
    str(uuid.uuid4()),
    "sha256:" + secrets.token_hex(32),
    "hmac-sha256:" + secrets.token_hex(32),
    "def compute_the_total_amount_of_orders_for_each_customer_in_region(x):",
    "SOME_ENVIRONMENT_VARIABLE_NAME_THAT_IS_RATHER_LONG_INDEED_YES=1",
    "my_module_name_" + "a" * 36,
    "pk_acme_" + "".join(secrets.choice(alphabet) for _ in range(35)),   # one short
    "pk_acme_" + "".join(secrets.choice(alphabet) for _ in range(37)),   # one long
    "pk__" + "".join(secrets.choice(alphabet) for _ in range(36)),        # no tenant
    "_acme_" + "".join(secrets.choice(alphabet) for _ in range(36)),      # no prefix
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "".join(secrets.choice(alphabet) for _ in range(64)),
]
for text in negatives:
    check(f"the rule finds nothing in: {text[:40]}...", not finds(text), finds(text))
check("a mistyped key (one character off) still looks like a key to a scanner",
      bool(finds(key[:-1] + ("0" if key[-1] != "0" else "1"))))

print(f"COUNTS {passed} {failed}")
PYTHON
grep -v '^COUNTS ' "$E2E_TMP/gitleaks.out"
counts=$(grep '^COUNTS ' "$E2E_TMP/gitleaks.out" | tail -n 1)
[[ $counts =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)$ ]] || e2e_die "the gitleaks checks did not finish"
E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))

# --- key files for the hook and the workflow ---------------------------------------------------
mkdir -p "$E2E_TMP/repo/deploy"
cd "$E2E_TMP/repo" || e2e_die "cd failed"
cat >deploy/keys.yaml <<'EOF'
version: 1
api_keys:
  - id: acme-bi
    key_hash: "sha256:708026a2bd7eecf5362292ce5d229cf900a6280445e13e63be8058141048fea2"
    tenant: acme_corp
    role: viewer
EOF
cat >deploy/keys-warning.yaml <<'EOF'
api_keys:
  - id: plaintext
    key: "pk_acme_test0001_fake_not_a_secret"
    tenant: acme_corp
    role: viewer
EOF
cat >deploy/keys-broken.yaml <<'EOF'
api_keys:
  - id: acme-bi
    key_hash: "sha256:708026a2bd7eecf5362292ce5d229cf900a6280445e13e63be8058141048fea2"
    tenant: acme_corp
    role: veiwer
EOF

# --- the pre-commit hook ---------------------------------------------------------------------
# pre-commit runs `entry` split like a shell command line, followed by the file names.
python3 - "$SOURCE_DIR/.pre-commit-hooks.yaml" "$E2E_TMP/hook" <<'PYTHON' || e2e_die "cannot read .pre-commit-hooks.yaml"
import shlex, sys, yaml
hook = next(h for h in yaml.safe_load(open(sys.argv[1])) if h["id"] == "keygate-validate")
with open(sys.argv[2] + ".entry", "w") as f:
    f.write("\0".join(shlex.split(hook["entry"])))
with open(sys.argv[2] + ".files", "w") as f:
    f.write(hook["files"])
PYTHON
mapfile -d '' -t entry <"$E2E_TMP/hook.entry"
run_hook() {
    "${entry[@]}" "$@" >"$E2E_TMP/hook.out" 2>&1
}
e2e_check "hook: a clean key file passes" run_hook deploy/keys.yaml
e2e_check_not "hook: a file with a warning fails (--strict)" run_hook deploy/keys-warning.yaml
e2e_check "hook: and says where" grep -q 'deploy/keys-warning.yaml:3:10: error: plaintext' "$E2E_TMP/hook.out"
e2e_check_not "hook: a file with an error fails" run_hook deploy/keys-broken.yaml
e2e_check "hook: and says where, with a hint" grep -q "deploy/keys-broken.yaml:5:11: error: unknown role 'veiwer'; did you mean 'viewer'?" "$E2E_TMP/hook.out"
e2e_check_not "hook: one bad file among several fails" run_hook deploy/keys.yaml deploy/keys-broken.yaml deploy/keys.yaml
e2e_check "hook: every file is checked, not only the first" grep -q 'keys-broken.yaml' "$E2E_TMP/hook.out"
e2e_check "hook: several clean files pass" run_hook deploy/keys.yaml deploy/keys.yaml

files_regex=$(cat "$E2E_TMP/hook.files")
matches() { [[ $1 =~ $files_regex ]]; }
for name in keys.yaml deploy/keys.yaml deploy/keys-prod.yml config/keys.staging.yaml; do
    e2e_check "hook: selects $name" matches "$name"
done
for name in values.yaml deploy/monkeys.yaml keys.yaml.bak deploy/keys/README.md; do
    e2e_check_not "hook: leaves $name alone" matches "$name"
done

# --- the GitHub Actions step -------------------------------------------------------------------
python3 - "$SOURCE_DIR/examples/gitops/github-actions.yml" "$E2E_TMP/step.sh" <<'PYTHON' || e2e_die "cannot read the workflow"
import sys, yaml
workflow = yaml.safe_load(open(sys.argv[1]))
steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
step = next(s for s in steps if "keygate validate --strict" in s.get("run", ""))
assert "${{" not in step["run"], "the validate script must read its inputs from env"
open(sys.argv[2], "w").write(step["run"])
PYTHON
mkdir -p "$E2E_TMP/runner"
run_step() { # KEY_FILES
    KEY_FILES=$1 RUNNER_TEMP=$E2E_TMP/runner bash --noprofile --norc -eo pipefail "$E2E_TMP/step.sh" \
        >"$E2E_TMP/step.out" 2>&1
}
e2e_check "workflow: clean key files pass" run_step "deploy/keys.yaml"
e2e_check_not "workflow: a file with a warning fails" run_step "deploy/keys.yaml deploy/keys-warning.yaml"
e2e_check "workflow: annotates the warning's line" \
    grep -qF "::error file=deploy/keys-warning.yaml,line=3,col=10::plaintext 'key'" "$E2E_TMP/step.out"
e2e_check_not "workflow: a broken file fails (matched by a glob)" run_step "deploy/keys-b*.yaml"
e2e_check "workflow: annotates the error's line" \
    grep -qF "::error file=deploy/keys-broken.yaml,line=5,col=11::unknown role 'veiwer'" "$E2E_TMP/step.out"
e2e_check_not "workflow: no matching key file is an error, not a silent pass" run_step "deploy/nothing-*.yaml"
e2e_check "workflow: and says so" grep -q '::error::no key file matches' "$E2E_TMP/step.out"

e2e_finish
