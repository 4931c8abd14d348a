#!/usr/bin/env bash
# test.sh: installs what is missing, checks formatting, builds the release
# and the ASan+UBSan configurations, and runs every test (ctest labels
# `unit` and `integration`) in both. Exit status 0 only if all passed.
# Then the libFuzzer targets run for a bounded time (tools/fuzz.sh).
#   P2D_TEST_LABEL=unit tools/test.sh   runs one label only
#   P2D_FUZZ_SECONDS=N                  fuzzing time of the pgoutput decoder (30)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash tools/install-deps.sh
echo "== format check"
bash tools/format.sh --check

label_args=()
[ -n "${P2D_TEST_LABEL:-}" ] && label_args=(-L "$P2D_TEST_LABEL")

echo "== release build (build/)"
bash tools/build.sh build
echo "== release tests"
ctest --test-dir build --output-on-failure -j2 "${label_args[@]}"

echo "== ASan+UBSan build (build-asan/)"
bash tools/build.sh build-asan -DP2D_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 "${label_args[@]}"

echo "== fuzz (libFuzzer, bounded time)"
bash tools/fuzz.sh "${P2D_FUZZ_SECONDS:-30}"

echo "== all tests passed in $(( $(date +%s) - start )) s"
