#!/usr/bin/env bash
# teardown_test.sh - with-env.sh passes the command's exit status through and
# leaves no PostgreSQL, doris-emu or temporary directory behind, also when
# the command fails. Prints "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
with_env="$here/../../harness/with-env.sh"
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1" >&2; fi; }

out=$(mktemp)
# The command records what the harness started, then fails with status 7.
"$with_env" --pg --emu -- bash -c 'echo "$H_TMP $PGPORT $EMU_PID $EMU_FE_PORT"; psql -X -Atc "SHOW wal_level"; exit 7' >"$out" 2>/dev/null
rc=$?
read -r tmp pgport emupid feport <"$out"
wal=$(sed -n 2p "$out")
check "exit status passes through (got $rc)" '[ "$rc" = 7 ]'
check "wal_level is logical (got $wal)" '[ "$wal" = logical ]'
check "temporary directory removed" '[ -n "$tmp" ] && [ ! -e "$tmp" ]'
check "doris-emu stopped" '! kill -0 "$emupid" 2>/dev/null'
check "PostgreSQL port closed" '! ss -Hltn "sport = :$pgport" | grep -q .'
check "doris-emu port closed" '! ss -Hltn "sport = :$feport" | grep -q .'

# A killed command: the harness still cleans up.
"$with_env" --pg -- bash -c 'echo "$H_TMP $PGPORT"; kill -TERM $$' >"$out" 2>/dev/null
rc=$?
read -r tmp pgport <"$out"
check "killed command reported as failure (got $rc)" '[ "$rc" != 0 ]'
check "temporary directory removed after kill" '[ -n "$tmp" ] && [ ! -e "$tmp" ]'
check "PostgreSQL stopped after kill" '! ss -Hltn "sport = :$pgport" | grep -q .'

# A bad option is refused with status 2.
"$with_env" --frob -- true 2>/dev/null
check "unknown option refused" '[ $? = 2 ]'
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
