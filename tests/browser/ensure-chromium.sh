#!/usr/bin/env bash
# Make Debian's headless-capable Chromium available; idempotent, prints its path.
# The browser test opens the Snakemake report in a real browser: installing it here
# (not via a browser-download tool) keeps every byte coming from the Debian archive.
set -euo pipefail

find_chromium() {
    command -v chromium || command -v chromium-browser || true
}

path=$(find_chromium)
if [ -z "$path" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "ensure-chromium: chromium missing and cannot apt-get install it (need root on Debian)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # an empty package cache (fresh container) needs the index first
    if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends chromium >/dev/null
    fi
    path=$(find_chromium)
fi
[ -n "$path" ] || { echo "ensure-chromium: chromium still not on PATH" >&2; exit 1; }
echo "$path"
