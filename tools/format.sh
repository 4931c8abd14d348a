#!/usr/bin/env bash
# format.sh [--check]: clang-format every C source and header we own.
# With --check nothing is changed and the exit status says whether all
# files are formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' | sort -u)
[ "${#files[@]}" -gt 0 ] || exit 0
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
            echo "format: $f is not clang-formatted (run tools/format.sh)" >&2
            bad=1
        fi
    done
    exit $bad
fi
clang-format -i "${files[@]}"
