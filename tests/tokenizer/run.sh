#!/bin/sh
# run.sh TOKENIZE_DUMP: installs the pinned npm packages and compares sluice's token ids with
# Hugging Face's tokenizers.js on the corpus in tests/data/tokenizer-corpus.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/@huggingface/tokenizers" ] || (cd "$here" && npm ci --no-audit --no-fund --prefer-offline >/dev/null)
exec node "$here/compare.mjs" --dump "$1"
