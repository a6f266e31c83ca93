#!/bin/sh
# Installs the Debian packages tokencollector needs to build, test and run the
# demo, when any is missing. Safe to run again: it does nothing when all are there.
set -eu
PACKAGES="gcc make pkg-config libcurl4-openssl-dev libcjson-dev libpq-dev libcmocka-dev
libsqlite3-dev libmicrohttpd-dev zlib1g-dev libsystemd-dev sqlite3 curl jq postgresql python3 groff-base man-db
prometheus chromium clang libclang-rt-14-dev"
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
