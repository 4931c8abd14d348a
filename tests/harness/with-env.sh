#!/usr/bin/env bash
# with-env.sh [--pg] [--emu] [--emu-args "ARGS"] -- COMMAND [ARGS...]
# Runs COMMAND with a throwaway PostgreSQL 15 cluster and/or a doris-emu,
# their coordinates in the environment (see lib.sh), and tears both down
# afterwards, even when COMMAND fails or is killed. The exit status is
# COMMAND's.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want_pg=0 want_emu=0 emu_args=""
while [ $# -gt 0 ]; do
    case "$1" in
    --pg) want_pg=1 ;;
    --emu) want_emu=1 ;;
    --emu-args) want_emu=1; emu_args=$2; shift ;;
    --) shift; break ;;
    *) echo "with-env.sh: unknown option \"$1\"" >&2; exit 2 ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "with-env.sh: no command given" >&2; exit 2; }

h_init
if [ $want_pg = 1 ]; then h_pg_start || exit 3; fi
# shellcheck disable=SC2086
if [ $want_emu = 1 ]; then h_emu_start $emu_args || exit 3; fi
"$@"
