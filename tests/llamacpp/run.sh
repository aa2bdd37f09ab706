#!/bin/sh
# run.sh SLUICE_BUILD_DIR: checks sluice against llama.cpp b4753 (npm node-llama-cpp 3.6.0, prebuilt
# CPU binary): loading of sluice-written GGUF files, next-token distributions, tokenization.
# Installs the pinned npm packages when node_modules is missing (npm ci, no optional packages: the
# CUDA/Vulkan binaries are skipped; no install scripts, nothing downloaded or compiled besides npm),
# builds logits-dump.c against the build's static libraries (with the build's sanitizers), and runs
# compare.mjs. Prints TAP; exits non-zero on any failure, 77 (skip) where the prebuilt binary
# cannot run (not linux x86-64) or node is missing.
# Environment: SLUICE_SHARED_DIR (default ../shared beside the repository), CC (default: the build's
# C compiler), LLAMACPP_THREADS (default 2). Further arguments go to compare.mjs (e.g. --only q4_k).
set -eu
[ $# -ge 1 ] || { echo "usage: run.sh SLUICE_BUILD_DIR [compare.mjs options]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
	echo "1..0 # SKIP @node-llama-cpp/linux-x64 runs on Linux x86-64 only"
	exit 77
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "1..0 # SKIP node/npm not found"; exit 77; }

if [ ! -d "$here/node_modules/node-llama-cpp" ] || [ ! -d "$here/node_modules/@node-llama-cpp/linux-x64" ]; then
	(cd "$here" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline >&2) ||
		{ echo "Bail out! npm ci failed in $here"; exit 1; }
fi

# logits-dump: compiled like the build's own programs: same C compiler, same sanitizers.
buildinfo() {
	node -e '
		const fs = require("fs"), dir = process.argv[1] + "/meson-info/";
		const read = (f) => { try { return JSON.parse(fs.readFileSync(dir + f, "utf8")); } catch (e) { return null; } };
		if (process.argv[2] === "sanitize") {
			const s = ((read("intro-buildoptions.json") || []).find((x) => x.name === "b_sanitize") || {}).value;
			process.stdout.write(Array.isArray(s) ? s.join(",") : s && s !== "none" ? String(s) : "");
		} else {
			for (const t of read("intro-targets.json") || [])
				for (const src of t.target_sources || [])
					if (src.language === "c" && src.compiler) { process.stdout.write(src.compiler.join(" ")); process.exit(0); }
		}' "$build" "$1"
}
sanitize=$(buildinfo sanitize)
cc=${CC:-$(buildinfo cc)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-llamacpp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
${cc:-cc} -std=c11 -O2 ${sanitize:+-fsanitize=$sanitize} -I"$src/common" -I"$src/engine" -I"$build" \
	-o "$tmp/logits-dump" "$here/logits-dump.c" \
	"$build/engine/libsluice-engine.a" "$build/common/libsluice-common.a" -lm -lpthread -lsystemd ||
	{ echo "Bail out! cannot build logits-dump against $build"; exit 1; }

# Not exec: the trap removes the temporary folder afterwards.
node "$here/compare.mjs" --sluice "$build/cli/sluice" --dump "$tmp/logits-dump" \
	--threads "${LLAMACPP_THREADS:-2}" "$@"
