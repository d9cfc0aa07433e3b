#!/usr/bin/env bash
# The JSON Schema of the key file (schemas/keys.schema.json) agrees with keygate's loader:
#   - it is a valid draft-07 schema;
#   - it accepts keys.example.yaml, every tests/data/valid/*.yaml, and the golden files
#     that load with warnings only;
#   - it rejects the golden invalid files whose problems are schema matters (unknown
#     fields, wrong types, bad duration/hash/id/timestamp/CIDR patterns, minimums), and for
#     those it flags every line that keygate flags;
#   - on a table of edge cases it gives the same verdict as `keygate validate`;
#   - the entries `keygate generate` prints pass it.
# YAML-level problems (anchors, aliases, tags, duplicate keys, syntax) and cross-entry rules
# (duplicate ids, the same secret twice, unknown roles) are no schema matters: each golden
# invalid file is classified below, and a new one that is not fails this test until it is.
#
# Usage: bash schema_check.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML and jsonschema (Debian 12: python3-yaml python3-jsonschema).
# Installs nothing. Prints "N passed, N failed" last.
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
KEYGATE_BIN=$1
SOURCE_DIR=$2

fatal() {
    echo "FATAL: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v python3 >/dev/null 2>&1 || fatal "python3 is required (Debian: apt-get install python3)"
python3 -c 'import yaml, jsonschema' 2>/dev/null ||
    fatal "python3 modules 'yaml' and 'jsonschema' are required (Debian: apt-get install python3-yaml python3-jsonschema)"
[[ -x $KEYGATE_BIN ]] || fatal "keygate binary '$KEYGATE_BIN' not found or not executable"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/keygate-schema.XXXXXX") || fatal "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

exec python3 - "$KEYGATE_BIN" "$SOURCE_DIR" "$TMP" <<'PYTHON'
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

keygate, source, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
data_dir = os.path.join(source, "tests", "data")
passed = failed = 0


def check(description, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {description}")
    else:
        failed += 1
        print(f"FAIL - {description}")
        if detail:
            for line in str(detail).splitlines():
                print(f"       {line}")


# Golden invalid files, classified. FULL: every problem is a schema matter, so the schema
# must flag every line keygate flags. PARTIAL: rejected, but some problems need keygate.
# NOT_SCHEMA: YAML-level or cross-entry problems a JSON Schema cannot see. LOADS: load
# with warnings only, so the schema must accept them.
FULL = [
    "api_keys_null", "bad_boolean", "bad_duration", "bad_hash", "bad_integer",
    "bad_timestamp", "bad_version", "comments_only", "empty", "missing_api_keys",
    "missing_role", "roles_errors", "routes_errors", "secret_fields", "settings_errors",
    "top_level_list", "unknown_field_key", "unknown_field_settings",
    "unknown_field_top_level", "whitespace_only", "wrong_type", "wrong_type_api_keys_map",
]
PARTIAL = {
    "bad_cidr": "host bits set (10.0.0.1/8) need CIDR arithmetic",
    "missing_tenant": "whether a tenant is needed depends on the role's bypass_rls",
}
NOT_SCHEMA = {
    "anchor_alias": "YAML anchors and aliases",
    "billion_laughs": "YAML aliases",
    "binary": "not text",
    "deep_nesting": "YAML nesting limit",
    "duplicate_key_id": "uniqueness across entries",
    "duplicate_map_key": "YAML duplicate keys",
    "hmac_without_pepper": "depends on KEYGATE_HASH_PEPPER",
    "invalid_utf8": "not UTF-8",
    "multiple_documents": "several YAML documents",
    "same_secret_twice": "uniqueness across entries",
    "unknown_role": "role names defined in the file",
    "yaml_syntax_error": "YAML syntax",
    "yaml_syntax_indentation": "YAML syntax",
    "yaml_tags": "YAML tags",
    "header_unsafe_names": "names that would be unsafe in an X-Auth-* header value",
}
LOADS = ["warnings"]


class StrictLoader(yaml.SafeLoader):
    """Reads scalars as keygate does: booleans only true/false, integers only plain
    decimals (no sign, no leading zero; a minus sign is read so that `minimum` reports it),
    and everything else (yes, 010, 0x10, 1e3, timestamps) as a string."""

    yaml_implicit_resolvers = {}


for tag, pattern, first in [
    ("bool", r"^(?:true|false)$", "tf"),
    ("int", r"^-?(?:0|[1-9][0-9]*)$", "-0123456789"),
    ("float", r"^-?(?:0|[1-9][0-9]*)\.[0-9]+$", "-0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    StrictLoader.add_implicit_resolver("tag:yaml.org,2002:" + tag, re.compile(pattern), list(first))


def load(text):
    """The document as data, and its node tree (for line numbers). A blank file is null, as
    keygate sees it (PyYAML would refuse a line holding only a tab)."""
    if not text.lstrip("\ufeff").strip(" \t\r\n"):
        return None, None
    return yaml.load(text, Loader=StrictLoader), yaml.compose(text, Loader=StrictLoader)


def child(node, part):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None, None


def node_at(root, path):
    node = root
    for part in path:
        _, node = child(node, part)
        if node is None:
            return None
    return node


def span(node):
    first = node.start_mark.line + 1
    last = node.end_mark.line + (0 if node.end_mark.column == 0 else 1)
    return set(range(first, max(first, last) + 1))


def flagged_lines(errors, root, line_count):
    """The lines each schema error points at: an unknown field's own line, else the lines
    of the value it is about (the whole file for the top level)."""
    lines = set()
    for error in errors:
        path = list(error.absolute_path)
        node = node_at(root, path) if root is not None else None
        if node is None or not path and root is None:
            lines |= set(range(1, line_count + 1))
            continue
        if error.validator == "additionalProperties" and isinstance(node, yaml.MappingNode):
            known = error.schema.get("properties", {})
            for key, _ in node.value:
                if key.value not in known:
                    lines.add(key.start_mark.line + 1)
            continue
        lines |= span(node)
    return lines


def expected_error_lines(name):
    path = os.path.join(data_dir, "invalid", name + ".expected")
    pattern = re.compile(re.escape(name) + r"\.yaml:(\d+):\d+: error: ")
    with open(path, encoding="utf-8") as f:
        return {int(m.group(1)) for m in map(pattern.match, f) if m}


def errors_text(errors):
    return "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


with open(os.path.join(source, "schemas", "keys.schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
try:
    jsonschema.Draft7Validator.check_schema(schema)
    check("keys.schema.json is a valid draft-07 schema", True)
except jsonschema.exceptions.SchemaError as e:
    check("keys.schema.json is a valid draft-07 schema", False, e.message)
validator = jsonschema.Draft7Validator(schema)


def schema_errors(text):
    data, _ = load(text)
    return list(validator.iter_errors(data))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- accepted ------------------------------------------------------------------------------
accepted = [os.path.join(source, "keys.example.yaml")]
accepted += sorted(
    os.path.join(data_dir, "valid", n) for n in os.listdir(os.path.join(data_dir, "valid"))
    if n.endswith(".yaml"))
accepted += [os.path.join(data_dir, "invalid", n + ".yaml") for n in LOADS]
check("there are valid files to check", len(accepted) > 3)
for path in accepted:
    errors = schema_errors(read(path))
    check(f"accepts {os.path.relpath(path, source)}", not errors, errors_text(errors))

example = read(os.path.join(source, "keys.example.yaml"))
check("keys.example.yaml points editors at the schema",
      "yaml-language-server: $schema=./schemas/keys.schema.json" in example.splitlines()[0])

# --- golden invalid files ------------------------------------------------------------------
invalid_dir = os.path.join(data_dir, "invalid")
present = sorted(n[:-5] for n in os.listdir(invalid_dir) if n.endswith(".yaml"))
classified = set(FULL) | set(PARTIAL) | set(NOT_SCHEMA) | set(LOADS)
unclassified = [n for n in present if n not in classified]
check("every golden invalid file is classified in schema_check.sh", not unclassified,
      "add to FULL, PARTIAL, NOT_SCHEMA or LOADS: " + ", ".join(unclassified))
missing = sorted(classified - set(present))
check("every classified golden file exists", not missing, ", ".join(missing))

for name in FULL + sorted(PARTIAL):
    path = os.path.join(invalid_dir, name + ".yaml")
    if not os.path.exists(path):
        continue
    text = read(path)
    data, root = load(text)
    errors = list(validator.iter_errors(data))
    check(f"rejects invalid/{name}.yaml", bool(errors))
    if name in PARTIAL:
        continue
    lines = flagged_lines(errors, root, max(1, text.count("\n") + 1))
    expected = expected_error_lines(name)
    unflagged = sorted(expected - lines)
    check(f"invalid/{name}.yaml: flags every line keygate flags ({len(expected)})",
          expected and not unflagged,
          f"lines keygate flags but the schema does not: {unflagged}\n" + errors_text(errors))

# --- edge cases: the schema and `keygate validate` agree -------------------------------------
HASH = "sha256:" + "ab" * 32
BASE = f'api_keys:\n  - key_hash: "{HASH}"\n    role: admin\n'


def key_with(field_lines):
    return BASE + "".join(f"    {line}\n" for line in field_lines)


CASES = [
    # (description, document, valid?)
    ("a numeric id", key_with(["id: 12345"]), True),
    ("a numeric tenant", f'api_keys:\n  - key_hash: "{HASH}"\n    role: viewer\n    tenant: 2024\n', True),
    ("a leap day", key_with(["expires_at: 2028-02-29"]), True),
    ("a timestamp with a space and an offset", key_with(['expires_at: "2030-01-01 10:00:00+05:30"']), True),
    ("fractional seconds", key_with(["expires_at: 2030-01-01T10:00:00.5Z"]), True),
    ("IPv6 and IPv4 CIDRs", key_with(['ip_allowlist: ["2001:db8::/64", 10.1.2.3/32, "::ffff:10.0.0.1"]']), True),
    ("globs and captures in a route", "routes:\n  - {path: \"/v1/x?y/*/{name}/**\", methods: [get], permission: read}\n" + BASE, True),
    ("rate_limit 1", key_with(["rate_limit: 1"]), True),
    ("a header with token characters", "settings: {header: X_Key.v2}\n" + BASE, True),
    ("a fractional factor", "settings: {alerts: {volume_spike: {factor: 2.5}}}\n" + BASE, True),
    ("grace_period 0s", "settings: {grace_period: 0s}\n" + BASE, True),
    ("a built-in role with no value", "roles:\n  viewer:\n" + BASE, True),
    ("a null description", key_with(["description:"]), True),
    ("an empty ip_allowlist", key_with(["ip_allowlist: []"]), True),
    ("a previous key", key_with([f'previous_keys: [{{key_hash: "sha256:{"cd" * 32}", expires_at: 2099-01-01}}]']), True),
    ("April 31st", key_with(["expires_at: 2025-04-31"]), False),
    ("hour 24", key_with(["expires_at: 2025-01-01T24:00:00Z"]), False),
    ("a negative rate_limit", key_with(["rate_limit: -1"]), False),
    ("a fractional rate_limit", key_with(["rate_limit: 2.5"]), False),
    ("a quoted daily_limit", key_with(['daily_limit: "5"']), False),
    ("an octet over 255", key_with(["ip_allowlist: [256.1.1.1]"]), False),
    ("an IPv6 prefix over 128", key_with(['ip_allowlist: ["::1/129"]']), False),
    ("** inside a segment", "routes:\n  - {path: \"/a**b\", permission: read}\n" + BASE, False),
    ("a capture starting with a digit", "routes:\n  - {path: \"/{1abc}\", permission: read}\n" + BASE, False),
    ("a method with a digit", "routes:\n  - {path: /x, methods: [GET1], permission: read}\n" + BASE, False),
    ("reload_interval 0ms", "settings: {reload_interval: 0ms}\n" + BASE, False),
    ("a week as a duration", "settings: {grace_period: 1w}\n" + BASE, False),
    ("a 63-digit hash", f'api_keys:\n  - key_hash: "sha256:{"a" * 63}"\n    role: admin\n', False),
    ("allow_query_key with no value", "settings:\n  allow_query_key:\n" + BASE, False),
    ("a quoted boolean", key_with(['enabled: "true"']), False),
    ("a colon in the header name", "settings: {header: \"X:Key\"}\n" + BASE, False),
    ("a quoted version", 'version: "1"\n' + BASE, False),
    ("a zero burst window", "settings: {alerts: {failed_auth_burst: {count: 1, window: 0s}}}\n" + BASE, False),
    ("an unknown field in a previous key", key_with([f'previous_keys: [{{key_hash: "{HASH[:-2]}cd", expires_at: 2099-01-01, note: x}}]']), False),
    ("a custom role without permissions", "roles: {ops: {bypass_rls: true}}\n" + BASE, False),
]

env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGATE_", "API_KEY_"))}
for i, (description, text, valid) in enumerate(CASES):
    path = os.path.join(tmp, f"case{i}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    errors = schema_errors(text)
    check(f"schema {'accepts' if valid else 'rejects'} {description}", (not errors) == valid,
          errors_text(errors) or text)
    run = subprocess.run([keygate, "validate", path], env=env, capture_output=True, text=True,
                         timeout=30)
    check(f"keygate validate {'accepts' if valid else 'rejects'} {description}",
          (run.returncode == 0) == valid, run.stdout + run.stderr)

# --- what keygate writes passes the schema -------------------------------------------------
run = subprocess.run([keygate, "generate", "--tenant", "acme_corp", "--count", "2"], env=env,
                     capture_output=True, text=True, timeout=30)
entries = "".join(line + "\n" for line in run.stdout.splitlines() if line.startswith("  "))
check("keygate generate prints entries", run.returncode == 0 and entries.count("- id:") == 2,
      run.stdout + run.stderr)
errors = schema_errors("api_keys:\n" + entries)
check("the schema accepts the entries keygate generate prints", not errors, errors_text(errors))

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
PYTHON
