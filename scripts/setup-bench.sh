#!/usr/bin/env bash
# Installs the tools bench/run.sh needs (nginx, wrk, curl, taskset) from Debian
# packages. Idempotent: apt-get runs only when a binary is missing.
set -euo pipefail

missing=()
command -v nginx   >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk     >/dev/null 2>&1 || missing+=(wrk)
command -v curl    >/dev/null 2>&1 || missing+=(curl)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "setup-bench: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
