#!/usr/bin/env bash
# Installs every Debian package pg2doris needs to build, test, benchmark and
# profile. Idempotent: packages already present are left alone, and apt is
# only contacted when something is missing. Run as root on Debian 12.
set -euo pipefail

packages=(
    # toolchain and checks
    build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
    # engine libraries
    libpq-dev libcurl4-openssl-dev liburing-dev libck-dev libjemalloc-dev
    libsqlite3-dev libjansson-dev zlib1g-dev
    # doris-emu's HTTP server
    libmicrohttpd-dev
    # test, demo and benchmark parts
    postgresql-15 postgresql-client-15 sqlite3 curl jq procps iproute2
    util-linux gnuplot-nox hyperfine time
    # profiling
    linux-perf valgrind
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "hint: run this script as root (it calls apt-get)" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian package starts a cluster of its own on 5432; tests never use it.
# PostgreSQL refuses to run as root: tests run it as this user.
if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
echo "install-deps: all packages present"
