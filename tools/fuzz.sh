#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds the libFuzzer targets with clang (build-fuzz/)
# and runs each for a bounded time on a scratch copy of its corpus
# (tests/fuzz/corpus/NAME). The pgoutput decoder gets SECONDS (default 30),
# the COPY decoder and the encoder a third each. A crash fails the run and
# leaves the reproducer in build-fuzz/crashes/. tools/test.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
command -v clang >/dev/null || { echo "fuzz.sh: clang is missing (tools/install-deps.sh)"; exit 1; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DP2D_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target pgoutput_fuzz copy_decode_fuzz encode_fuzz >/dev/null
mkdir -p build-fuzz/crashes
for spec in "pgoutput:$secs" "copy_decode:$(( secs / 3 > 0 ? secs / 3 : 1 ))" \
            "encode:$(( secs / 3 > 0 ? secs / 3 : 1 ))"; do
    name=${spec%%:*} t=${spec##*:}
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$name/." "$work/"
    echo "== fuzz $name for ${t} s"
    if ! build-fuzz/tests/${name}_fuzz -max_total_time="$t" -print_final_stats=1 \
            -artifact_prefix=build-fuzz/crashes/"$name"- "$work" >build-fuzz/"$name".log 2>&1; then
        tail -40 build-fuzz/"$name".log
        rm -rf "$work"
        echo "fuzz.sh: $name crashed; reproducer in build-fuzz/crashes/"
        exit 1
    fi
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" build-fuzz/"$name".log | tail -2
    rm -rf "$work"
done
