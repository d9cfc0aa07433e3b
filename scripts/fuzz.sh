#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++-14, ASan + UBSan) in build-fuzz/ and runs them, each
# on its corpus fuzz/corpus/<target>/ with its dictionary; new interesting inputs are merged
# into the corpus afterwards (libFuzzer -merge=1 keeps only inputs that add coverage).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   run one target or all of them (default: all, 600 s
#                                            each), one after the other, at nice 10
#   scripts/fuzz.sh minimize [TARGET|all]    rewrite a corpus as the minimal set with the same
#                                            coverage (merge into a fresh directory)
#
# A crash stops the run: its input is in build-fuzz/artifacts/<target>/. Replay it with
# build-fuzz/fuzz/<target> FILE, or with the plain build's fuzz/<target>_replay FILE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KEYGATE_FUZZ_BUILD:-$root/build-fuzz}
all_targets=(fuzz_config_loader fuzz_request_mapping fuzz_audit_body fuzz_uri_reader fuzz_yaml_reader fuzz_check_request)

# The longest input worth trying: a key file of a few dozen entries, one subrequest with its
# headers and body, a batch whose fields overflow the 8000-byte audit line.
max_len_of() {
    case $1 in
    fuzz_config_loader) echo 16384 ;;
    fuzz_request_mapping) echo 4096 ;;
    fuzz_audit_body) echo 24576 ;;
    fuzz_uri_reader) echo 1024 ;;
    fuzz_yaml_reader) echo 16384 ;;
    fuzz_check_request) echo 8192 ;;
    *) echo "unknown target: $1 (one of: ${all_targets[*]})" >&2; exit 2 ;;
    esac
}

targets_of() {
    if [[ ${1:-all} == all ]]; then echo "${all_targets[@]}"; else max_len_of "$1" >/dev/null; echo "$1"; fi
}

ensure_toolchain() {
    local missing=()
    command -v clang++-14 >/dev/null || missing+=(clang-14)
    [[ -n $(ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null) ]] ||
        missing+=(libclang-rt-14-dev)
    if ((${#missing[@]})); then
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo)
        "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

build_targets() {
    ensure_toolchain
    cmake -S "$root" -B "$build" -DKEYGATE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    nice -n 10 cmake --build "$build" -j2 --target "$@"
}

run_target() {
    local target=$1 seconds=$2
    local max_len corpus found artifacts status=0
    max_len=$(max_len_of "$target")
    corpus=$root/fuzz/corpus/$target
    artifacts=$build/artifacts/$target
    found=$(mktemp -d)
    mkdir -p "$corpus" "$artifacts"
    echo "== $target: ${seconds}s, -max_len=$max_len"
    # New inputs go to the first directory ($found); the corpus is only read here.
    nice -n 10 "$build/fuzz/$target" -max_len="$max_len" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$root/fuzz/dict/$target.dict" -artifact_prefix="$artifacts/" \
        "$found" "$corpus" || status=$?
    nice -n 10 "$build/fuzz/$target" -merge=1 -max_len="$max_len" "$corpus" "$found" 2>&1 |
        grep -E "MERGE-OUTER: [0-9]+ new files" || true
    rm -rf "$found"
    if ((status != 0)); then
        echo "$target: the fuzzer stopped with status $status; inputs in $artifacts/" >&2
        exit "$status"
    fi
}

minimize_target() {
    local target=$1
    local corpus=$root/fuzz/corpus/$target fresh
    fresh=$(mktemp -d)
    # The regression inputs (large, hand-made) stay as they are, outside the merge.
    [[ -d $corpus/regressions ]] && mv "$corpus/regressions" "$fresh.regressions"
    # -use_counters=0: keep one input per covered edge, not one per hit-count bucket; that
    # keeps every edge in a few hundred files, and the counts are found again in seconds.
    nice -n 10 "$build/fuzz/$target" -merge=1 -use_counters=0 -max_len="$(max_len_of "$target")" \
        "$fresh" "$corpus" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp "$fresh"/* "$corpus"/
    [[ -d $fresh.regressions ]] && mv "$fresh.regressions" "$corpus/regressions"
    rm -rf "$fresh"
    echo "$target: $(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
}

if [[ ${1:-} == minimize ]]; then
    read -ra targets <<<"$(targets_of "${2:-all}")"
    build_targets "${targets[@]}"
    for target in "${targets[@]}"; do minimize_target "$target"; done
    exit 0
fi

read -ra targets <<<"$(targets_of "${1:-all}")"
seconds=${2:-600}
build_targets "${targets[@]}"
for target in "${targets[@]}"; do run_target "$target" "$seconds"; done
