# tests/harness/lib.sh - throwaway PostgreSQL 15 clusters and doris-emu
# instances for tests, benchmarks and the demo. Source it, then call
#   h_init            once (temp dir, cleanup trap)
#   h_pg_start        a PostgreSQL 15 cluster, wal_level=logical, free port
#   h_emu_start ARGS  a doris-emu with free FE/BE ports (ARGS go to doris-emu)
# Everything started is torn down on exit, whatever the exit status.
#
# Exported after h_pg_start:  PGHOST PGPORT PGUSER PGDATABASE P2D_PG_CONNINFO
#                             H_PGDATA H_PGBIN
# Exported after h_emu_start: EMU_FE_PORT EMU_BE_PORT EMU_DATA EMU_PID
#                             P2D_DEST_URL (http://root@127.0.0.1:FE/demo)

H_PGBIN=${H_PGBIN:-/usr/lib/postgresql/15/bin}
H_BUILD=${P2D_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}

h_log() { echo "harness: $*" >&2; }

h_init() {
    H_TMP=$(mktemp -d /tmp/p2d-test.XXXXXX)
    chmod 755 "$H_TMP"
    H_PIDS=()
    H_PGDATA=""
    trap h_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    export H_TMP
}

h_cleanup() {
    local rc=$?
    # Callers may run with errexit: a process that already exited must not
    # abort the cleanup half-way.
    set +e
    for pid in "${H_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${H_PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "$H_PGDATA" ] && [ -f "$H_PGDATA/postmaster.pid" ]; then
        runuser -u postgres -- "$H_PGBIN/pg_ctl" -D "$H_PGDATA" -m immediate stop >/dev/null 2>&1
    fi
    if [ "$rc" -ne 0 ] && [ -n "${H_TMP:-}" ]; then
        for f in "$H_TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "---- last lines of $f ----" >&2
            tail -n 30 "$f" >&2
        done
    fi
    if [ -n "${H_TMP:-}" ] && [ -z "${H_KEEP:-}" ]; then
        rm -rf "$H_TMP"
    fi
    return $rc
}

# A TCP port nobody listens on (racy by nature; callers retry on bind failure).
h_free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

h_pg_start() {
    id postgres >/dev/null 2>&1 || { h_log "user postgres missing: run tools/install-deps.sh"; return 1; }
    H_PGDATA="$H_TMP/pgdata"
    mkdir -p "$H_PGDATA" "$H_TMP/pgsock"
    touch "$H_TMP/postgres.log"
    chown postgres: "$H_PGDATA" "$H_TMP/pgsock" "$H_TMP/postgres.log"
    runuser -u postgres -- "$H_PGBIN/initdb" -D "$H_PGDATA" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$H_TMP/initdb.log" 2>&1 || { cat "$H_TMP/initdb.log" >&2; return 1; }
    cat >>"$H_PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$H_TMP/pgsock'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_size = 4GB
log_min_messages = warning
CONF
    # Superuser postgres is trusted; every other role logs in with a password,
    # so tests can exercise wrong passwords.
    cat >"$H_PGDATA/pg_hba.conf" <<HBA
local all postgres trust
local replication postgres trust
host all postgres 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
local all all scram-sha-256
local replication all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
    local port
    for _ in 1 2 3 4 5; do
        port=$(h_free_port)
        if runuser -u postgres -- "$H_PGBIN/pg_ctl" -D "$H_PGDATA" -o "-p $port" -w -t 60 \
            -l "$H_TMP/postgres.log" start >/dev/null 2>&1; then
            export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
            export P2D_PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
            export H_PGDATA H_PGBIN
            return 0
        fi
    done
    h_log "PostgreSQL did not start"; tail -n 20 "$H_TMP/postgres.log" >&2
    return 1
}

h_pg_stop() { runuser -u postgres -- "$H_PGBIN/pg_ctl" -D "$H_PGDATA" -m fast -w stop >/dev/null; }
h_pg_restart() {
    runuser -u postgres -- "$H_PGBIN/pg_ctl" -D "$H_PGDATA" -o "-p $PGPORT" -m fast -w \
        -l "$H_TMP/postgres.log" restart >/dev/null
}

# h_emu_start [doris-emu args...]: starts doris-emu on free ports and waits
# for its ready line "doris-emu ready fe_port=N be_port=N".
h_emu_start() {
    local bin="$H_BUILD/doris-emu" n=${H_EMU_N:-0}
    [ -x "$bin" ] || { h_log "missing $bin: build first"; return 1; }
    H_EMU_N=$((n + 1))
    local log="$H_TMP/doris-emu$n.log" data="${EMU_DATA_FILE:-$H_TMP/emu$n.sqlite}"
    "$bin" --fe-port 0 --be-port 0 --data "$data" "$@" >"$log" 2>&1 &
    local pid=$!
    H_PIDS+=("$pid")
    for _ in $(seq 100); do
        if grep -q "doris-emu ready" "$log"; then
            local line
            line=$(grep -m1 "doris-emu ready" "$log")
            EMU_FE_PORT=$(sed -E 's/.*fe_port=([0-9]+).*/\1/' <<<"$line")
            EMU_BE_PORT=$(sed -E 's/.*be_port=([0-9]+).*/\1/' <<<"$line")
            export EMU_FE_PORT EMU_BE_PORT EMU_PID=$pid EMU_DATA=$data EMU_LOG=$log
            export P2D_DEST_URL="http://root@127.0.0.1:$EMU_FE_PORT/demo"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    h_log "doris-emu did not start"; cat "$log" >&2
    return 1
}

# psql against the test cluster as postgres.
h_psql() { "$H_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
