#!/bin/sh
# run.sh GGUF_DUMP: installs the pinned npm packages (npm ci, offline cache first) and compares
# sluice's GGUF files with @huggingface/gguf's reading of them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/@huggingface/gguf" ] || (cd "$here" && npm ci --no-audit --no-fund --prefer-offline >/dev/null)
exec node "$here/compare-hf.mjs" --dump "$1"
