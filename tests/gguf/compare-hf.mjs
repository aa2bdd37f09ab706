// compare-hf.mjs: checks that @huggingface/gguf and sluice's reader (tests/tools/gguf-dump) see the same GGUF files.
//
// Usage: node tests/gguf/compare-hf.mjs [--dump PATH/gguf-dump] [--shared DIR]
//   --dump    the built gguf-dump tool (default: $GGUF_DUMP)
//   --shared  the shared/ folder holding testdata/llama.cpp-vocab (default: $SLUICE_SHARED_DIR,
//             else ../shared beside the repository)
// Compares, for a sample written by sluice's writer and for the shared vocab files: version,
// every metadata key in order with its type, array element type and value, and every tensor's
// name, shape, type and offset, plus the data section offset. Prints TAP and one closing line
// "# N passed, N failed"; exits non-zero on any mismatch or missing input.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gguf, GGUFValueType } from "@huggingface/gguf";

const here = dirname(fileURLToPath(import.meta.url));
const VOCAB_FILES = ["ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-coder.gguf"];
const PSEUDO_KEYS = new Set(["version", "tensor_count", "kv_count"]); // added by @huggingface/gguf
const TYPE_NAMES = {
	[GGUFValueType.UINT8]: "uint8",
	[GGUFValueType.INT8]: "int8",
	[GGUFValueType.UINT16]: "uint16",
	[GGUFValueType.INT16]: "int16",
	[GGUFValueType.UINT32]: "uint32",
	[GGUFValueType.INT32]: "int32",
	[GGUFValueType.FLOAT32]: "float32",
	[GGUFValueType.BOOL]: "bool",
	[GGUFValueType.STRING]: "string",
	[GGUFValueType.ARRAY]: "array",
	[GGUFValueType.UINT64]: "uint64",
	[GGUFValueType.INT64]: "int64",
	[GGUFValueType.FLOAT64]: "float64",
};

function parseArgs(argv) {
	const opts = { dump: process.env.GGUF_DUMP, shared: process.env.SLUICE_SHARED_DIR };
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === "--dump") opts.dump = argv[++i];
		else if (argv[i] === "--shared") opts.shared = argv[++i];
		else throw new Error(`unknown argument ${argv[i]} (usage: compare-hf.mjs [--dump PATH] [--shared DIR])`);
	}
	if (!opts.dump) throw new Error("no gguf-dump tool: pass --dump PATH or set GGUF_DUMP");
	opts.shared ??= resolve(here, "..", "..", "..", "shared");
	return opts;
}

// One canonical form for values from both sides: 64-bit integers as decimal strings, non-finite
// floats as "NaN"/"Infinity"/"-Infinity", everything else as is.
function canon(type, v) {
	if (typeof v === "bigint") return v.toString();
	if (type === "uint64" || type === "int64") return String(v);
	if (typeof v === "number" && !Number.isFinite(v)) return String(v);
	return v;
}

function same(a, b) {
	return typeof a === "number" && typeof b === "number" ? Object.is(a, b) : a === b;
}

// @huggingface/gguf decodes strings with a default TextDecoder, which drops a leading U+FEFF
// (byte order mark): llama-spm's token 30143 is exactly that character. sluice keeps the bytes.
function bomDropped(ours, theirs) {
	return typeof ours === "string" && ours.startsWith("\uFEFF") && ours.slice(1) === theirs;
}

// Returns a list of differences between sluice's dump and @huggingface/gguf's parse.
export function compare(ours, hf, known = []) {
	const diffs = [];
	const note = (msg) => diffs.length < 20 && diffs.push(msg);

	if (ours.version !== hf.metadata.version) note(`version: sluice ${ours.version}, hf ${hf.metadata.version}`);
	if (ours.data_offset !== hf.tensorDataOffset.toString())
		note(`data offset: sluice ${ours.data_offset}, hf ${hf.tensorDataOffset}`);
	if (!hf.littleEndian) note("hf reads the file as big-endian");

	const hfKeys = Object.keys(hf.typedMetadata).filter((k) => !PSEUDO_KEYS.has(k));
	const ourKeys = ours.metadata.map((kv) => kv.key);
	if (hfKeys.join("\n") !== ourKeys.join("\n")) note(`keys differ: sluice [${ourKeys}], hf [${hfKeys}]`);

	for (const kv of ours.metadata) {
		const t = hf.typedMetadata[kv.key];
		if (!t) continue;
		const hfType = TYPE_NAMES[t.type];
		if (hfType !== kv.type) note(`${kv.key}: type sluice ${kv.type}, hf ${hfType}`);
		if (kv.type === "array") {
			const sub = TYPE_NAMES[t.subType];
			if (sub !== kv.elem_type) note(`${kv.key}: element type sluice ${kv.elem_type}, hf ${sub}`);
			if (!Array.isArray(t.value) || t.value.length !== kv.value.length) {
				note(`${kv.key}: length sluice ${kv.value.length}, hf ${t.value?.length}`);
				continue;
			}
			for (let i = 0; i < kv.value.length; i++) {
				const a = canon(kv.elem_type, kv.value[i]), b = canon(sub, t.value[i]);
				if (bomDropped(a, b)) {
					known.push(`${kv.key}[${i}]: hf drops the leading U+FEFF of ${JSON.stringify(a)}`);
					continue;
				}
				if (!same(a, b)) {
					note(`${kv.key}[${i}]: sluice ${JSON.stringify(a)}, hf ${JSON.stringify(b)}`);
					break;
				}
			}
		} else {
			const a = canon(kv.type, kv.value), b = canon(hfType, t.value);
			if (bomDropped(a, b)) known.push(`${kv.key}: hf drops the leading U+FEFF`);
			else if (!same(a, b)) note(`${kv.key}: sluice ${JSON.stringify(a)}, hf ${JSON.stringify(b)}`);
		}
	}

	if (ours.tensors.length !== hf.tensorInfos.length)
		note(`tensor count: sluice ${ours.tensors.length}, hf ${hf.tensorInfos.length}`);
	ours.tensors.forEach((t, i) => {
		const h = hf.tensorInfos[i];
		if (!h) return;
		const hShape = h.shape.map(String).join(","), oShape = t.shape.join(",");
		if (t.name !== h.name) note(`tensor ${i}: name sluice ${t.name}, hf ${h.name}`);
		if (t.n_dims !== h.n_dims) note(`${t.name}: n_dims sluice ${t.n_dims}, hf ${h.n_dims}`);
		if (oShape !== hShape) note(`${t.name}: shape sluice [${oShape}], hf [${hShape}]`);
		if (t.type !== h.dtype) note(`${t.name}: type sluice ${t.type}, hf ${h.dtype}`);
		if (t.offset !== h.offset.toString()) note(`${t.name}: offset sluice ${t.offset}, hf ${h.offset}`);
	});
	return diffs;
}

function sluiceDump(tool, path) {
	return JSON.parse(execFileSync(tool, ["dump", path], { maxBuffer: 1 << 30, encoding: "utf8" }));
}

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	const work = mkdtempSync(join(tmpdir(), "sluice-gguf-"));
	let passed = 0, failed = 0, n = 0;
	const result = (ok, name, details = []) => {
		ok ? passed++ : failed++;
		console.log(`${ok ? "ok" : "not ok"} ${++n} - ${name}`);
		for (const d of details) console.log(`# ${d}`);
	};

	try {
		const sample = join(work, "sample.gguf");
		execFileSync(opts.dump, ["write-sample", sample], { stdio: "inherit" });
		const files = [["sample written by sluice", sample]];
		for (const f of VOCAB_FILES) files.push([f, join(opts.shared, "testdata", "llama.cpp-vocab", f)]);
		console.log(`1..${files.length + 1}`);

		let sampleParsed;
		for (const [name, path] of files) {
			if (!existsSync(path)) {
				result(false, name, [`missing ${path}: see shared/testdata/README.md for its source and sha256`]);
				continue;
			}
			try {
				const ours = sluiceDump(opts.dump, path);
				const hf = await gguf(path, { allowLocalFile: true, typedMetadata: true });
				const known = [];
				const diffs = compare(ours, hf, known);
				const counts = `${ours.metadata.length} keys, ${ours.tensors.length} tensors`;
				result(diffs.length === 0, `${name} (${counts})`, [...diffs, ...known.map((k) => `known: ${k}`)]);
				if (path === sample) sampleParsed = { ours, hf };
			} catch (e) {
				result(false, name, [String(e?.stack ?? e)]);
			}
		}

		// The comparison itself must be able to fail: plant differences and expect them found.
		if (sampleParsed) {
			const planted = structuredClone(sampleParsed.ours);
			planted.metadata.find((kv) => kv.type === "float32").value += 1e-3;
			planted.metadata.find((kv) => kv.elem_type === "string").value[1] += "x";
			planted.tensors[0].offset = "1";
			const found = compare(planted, sampleParsed.hf);
			result(found.length === 3, "the comparison reports 3 planted differences", found.length === 3 ? [] : found);
		} else result(false, "the comparison reports planted differences", ["no sample to plant them in"]);
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
	console.log(`# ${passed} passed, ${failed} failed`);
	process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
	console.error(`compare-hf: ${e?.message ?? e}`);
	process.exitCode = 1;
});
