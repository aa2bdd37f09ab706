// compare.mjs: sluice's token ids (tests/tools/tokenize-dump) against tokenizers.js on a corpus, per GGUF vocabulary.
//
// Usage: node tests/tokenizer/compare.mjs [--dump PATH/tokenize-dump] [--shared DIR] [--corpus FILE]
//   --dump    the built tokenize-dump tool (default: $TOKENIZE_DUMP)
//   --shared  the shared/ folder holding testdata/llama.cpp-vocab (default: $SLUICE_SHARED_DIR,
//             else ../shared beside the repository)
//   --corpus  one JSON string literal per line, # comments (default: tests/data/tokenizer-corpus.txt)
//
// The other side is independent of sluice's code: @huggingface/gguf reads each vocabulary file and
// @huggingface/tokenizers (tokenizers.js, a port of Hugging Face's tokenizers) encodes with a
// tokenizer.json built here the way Hugging Face's converters build them:
//   gpt2 vocabularies: the pre-tokenizer split patterns that llama.cpp uses for tokenizer.ggml.pre
//     as Split (Isolated) regexes, then ByteLevel, then a BPE model with the file's merges;
//   llama (SentencePiece) vocabularies: Prepend("▁") + Replace(" " -> "▁"), and a BPE model with
//     byte fallback whose merges come from the token scores (transformers' SentencePieceExtractor:
//     every split of a token into two tokens, ordered by the merged token's score, best first).
// Each vocabulary is checked twice: without special-token parsing (only user-defined tokens are
// added tokens, as llama.cpp splits those out regardless) and with it (control tokens added too).
// JavaScript's \s differs from Unicode's White_Space (it has U+FEFF, lacks U+0085), so the patterns
// spell out White_Space, which is what llama.cpp's \s means.
// Prints TAP and a closing "# N passed, N failed" line; exits non-zero on any mismatch.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gguf } from "@huggingface/gguf";
import { Tokenizer } from "@huggingface/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
// Each vocabulary file as it is, and gpt-2's also through the other pre-tokenizers sluice knows (their
// own vocabularies are too large to ship): the split patterns are what is compared there.
const CHECKS = [
	{ vocab: "gpt-2" },
	{ vocab: "llama-spm" },
	{ vocab: "deepseek-coder" },
	{ vocab: "gpt-2", pre: "llama-bpe", ignoreMerges: true },
	{ vocab: "gpt-2", pre: "qwen2" },
	{ vocab: "gpt-2", pre: "default" },
	{ vocab: "gpt-2", pre: "starcoder" },
];
const SHOW = 5; // mismatches printed per check

const TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4;

// Unicode White_Space, as a character class body.
const WS = "\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
const S = `[${WS}]`;

// llama.cpp's split patterns per tokenizer.ggml.pre (llama-vocab.cpp), \s spelled out.
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${S}+(?![^${WS}])|${S}+`;
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const LLAMA3_TAIL = ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?![^${WS}])|${S}+`;
const PRE_PATTERNS = {
	"gpt-2": [GPT2],
	"llama-bpe": [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|${LLAMA3_TAIL}`],
	qwen2: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|${LLAMA3_TAIL}`],
	default: ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"],
	starcoder: ["\\p{N}", GPT2],
	"deepseek-coder": [
		"[\\r\\n]",
		`${S}?\\p{L}+`,
		`${S}?\\p{P}+`,
		// [一-龥ࠀ-一가-퟿]+: llama.cpp hides non-ASCII whitespace from this pattern, so leave it out
		"[\\u0800-\\u167F\\u1681-\\u1FFF\\u200B-\\u2027\\u202A-\\u202E\\u2030-\\u205E\\u2060-\\u2FFF\\u3001-\\u9FA5\\uAC00-\\uD7FF]+",
		"\\p{N}",
	],
};

function parseArgs(argv) {
	const opts = {
		dump: process.env.TOKENIZE_DUMP,
		shared: process.env.SLUICE_SHARED_DIR,
		corpus: resolve(here, "..", "data", "tokenizer-corpus.txt"),
	};
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === "--dump") opts.dump = argv[++i];
		else if (argv[i] === "--shared") opts.shared = argv[++i];
		else if (argv[i] === "--corpus") opts.corpus = argv[++i];
		else throw new Error(`unknown argument ${argv[i]} (usage: compare.mjs [--dump PATH] [--shared DIR] [--corpus FILE])`);
	}
	if (!opts.dump) throw new Error("no tokenize-dump tool: pass --dump PATH or set TOKENIZE_DUMP");
	opts.shared ??= resolve(here, "..", "..", "..", "shared");
	return opts;
}

// [{line, text}] from the corpus file: split on \n only (U+2028 may appear inside a line).
function readCorpus(path) {
	const out = [];
	readFileSync(path, "utf8").split("\n").forEach((raw, i) => {
		const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
		if (line === "" || line.startsWith("#")) return;
		const text = JSON.parse(line);
		if (typeof text !== "string") throw new Error(`${path}:${i + 1}: not a JSON string`);
		out.push({ line: i + 1, text });
	});
	return out;
}

function addedTokens(meta, parseSpecial) {
	const tokens = meta["tokenizer.ggml.tokens"], types = meta["tokenizer.ggml.token_type"] ?? [];
	const out = [];
	tokens.forEach((content, id) => {
		const type = types[id] ?? TYPE_NORMAL;
		const special = type === TYPE_CONTROL || type === TYPE_UNKNOWN;
		if (content === "" || !(type === TYPE_USER_DEFINED || (parseSpecial && special))) return;
		out.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
	});
	return out;
}

function vocabObject(tokens) {
	const vocab = Object.create(null);
	tokens.forEach((t, id) => {
		if (!(t in vocab)) vocab[t] = id;
	});
	return vocab;
}

// transformers' SentencePieceExtractor: merges (l, r) for every token split into two tokens, ordered
// by the merged token's score (best first; stable), within a token by the ids of l and r.
function mergesFromScores(tokens, scores) {
	const vocab = vocabObject(tokens);
	const merges = [];
	tokens.forEach((piece, id) => {
		const chars = Array.from(piece), local = [];
		for (let i = 1; i < chars.length; i++) {
			const l = chars.slice(0, i).join(""), r = chars.slice(i).join("");
			if (l in vocab && r in vocab) local.push({ l, r, score: scores[id] });
		}
		local.sort((a, b) => vocab[a.l] - vocab[b.l] || vocab[a.r] - vocab[b.r]);
		merges.push(...local);
	});
	merges.sort((a, b) => b.score - a.score);
	return merges.map((m) => [m.l, m.r]);
}

function tokenizerJson(meta, parseSpecial, check) {
	const model = meta["tokenizer.ggml.model"], tokens = meta["tokenizer.ggml.tokens"];
	const json = {
		version: "1.0",
		truncation: null,
		padding: null,
		added_tokens: addedTokens(meta, parseSpecial),
		normalizer: null,
		pre_tokenizer: null,
		post_processor: null,
		decoder: null,
	};
	if (model === "gpt2") {
		const pre = check.pre ?? meta["tokenizer.ggml.pre"];
		const patterns = PRE_PATTERNS[pre];
		if (!patterns) throw new Error(`no split patterns for tokenizer.ggml.pre "${pre}"`);
		json.pre_tokenizer = {
			type: "Sequence",
			pretokenizers: [
				...patterns.map((p) => ({ type: "Split", pattern: { Regex: p }, behavior: "Isolated", invert: false })),
				{ type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
			],
		};
		json.decoder = { type: "ByteLevel" };
		json.model = {
			type: "BPE",
			vocab: vocabObject(tokens),
			merges: meta["tokenizer.ggml.merges"].map((m) => {
				const i = m.indexOf(" ", 1);
				return [m.slice(0, i), m.slice(i + 1)];
			}),
			ignore_merges: check.ignoreMerges ?? false,
			byte_fallback: false,
		};
	} else if (model === "llama") {
		const unk = meta["tokenizer.ggml.unknown_token_id"] ?? 0;
		const prefix = meta["tokenizer.ggml.add_space_prefix"] ?? true;
		json.normalizer = {
			type: "Sequence",
			normalizers: [
				...(prefix ? [{ type: "Prepend", prepend: "\u2581" }] : []),
				{ type: "Replace", pattern: { String: " " }, content: "\u2581" },
			],
		};
		json.model = {
			type: "BPE",
			vocab: vocabObject(tokens),
			merges: mergesFromScores(tokens, meta["tokenizer.ggml.scores"]),
			unk_token: tokens[unk],
			fuse_unk: true,
			byte_fallback: true,
			ignore_merges: false,
		};
	} else throw new Error(`unsupported tokenizer.ggml.model "${model}"`);
	return json;
}

// line -> ids, from tokenize-dump.
function sluiceIds(opts, vocabPath, parseSpecial, pre) {
	const args = [...(parseSpecial ? ["--parse-special"] : []), ...(pre ? ["--pre", pre] : []), vocabPath, opts.corpus];
	const out = execFileSync(opts.dump, args, { encoding: "utf8", maxBuffer: 1 << 28 });
	const byLine = new Map();
	for (const l of out.split("\n")) {
		if (l === "") continue;
		const r = JSON.parse(l);
		byLine.set(r.line, r.ids);
	}
	return byLine;
}

// @huggingface/gguf decodes each string with a default TextDecoder, which drops a leading U+FEFF (Llama's
// vocabulary has a token that is exactly U+FEFF); read the file with BOMs kept.
async function readMetadata(path) {
	const Base = globalThis.TextDecoder;
	globalThis.TextDecoder = class extends Base {
		constructor(label, options) {
			super(label, { ...options, ignoreBOM: true });
		}
	};
	try {
		return (await gguf(path, { allowLocalFile: true })).metadata;
	} finally {
		globalThis.TextDecoder = Base;
	}
}

function sameIds(a, b) {
	return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	const corpus = readCorpus(opts.corpus);
	const results = [];

	console.log(`# ${corpus.length} corpus strings from ${opts.corpus}`);
	for (const check of CHECKS) {
		const name = check.vocab + (check.pre ? ` as ${check.pre}` : "");
		const path = join(opts.shared, "testdata", "llama.cpp-vocab", `ggml-vocab-${check.vocab}.gguf`);
		if (!existsSync(path)) {
			results.push({ name, ok: false, why: `missing ${path} (see shared/testdata/README.md)` });
			continue;
		}
		const metadata = await readMetadata(path);
		for (const parseSpecial of check.pre ? [false] : [false, true]) {
			const label = `${name}${parseSpecial ? " parse_special" : ""}`;
			const hf = new Tokenizer(tokenizerJson(metadata, parseSpecial, check), {});
			const ours = sluiceIds(opts, path, parseSpecial, check.pre);
			let bad = 0;
			for (const { line, text } of corpus) {
				const want = hf.encode(text, { add_special_tokens: false }).ids;
				const got = ours.get(line);
				if (got && sameIds(got, want)) continue;
				if (bad++ < SHOW) {
					console.log(`# ${label}: line ${line} ${JSON.stringify(text).slice(0, 200)}`);
					console.log(`#   tokenizers.js: ${JSON.stringify(want).slice(0, 300)}`);
					console.log(`#   sluice:        ${JSON.stringify(got ?? null).slice(0, 300)}`);
				}
			}
			results.push({ name: label, ok: bad === 0, why: `${bad} of ${corpus.length} strings differ` });
		}
	}

	console.log(`1..${results.length}`);
	results.forEach((r, i) => {
		console.log(`${r.ok ? "ok" : "not ok"} ${i + 1} - ${r.name}`);
		if (!r.ok) console.log(`# ${r.why}`);
	});
	const failed = results.filter((r) => !r.ok).length;
	console.log(`# ${results.length - failed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.error(`compare.mjs: ${e.stack ?? e}`);
	console.log("# 0 passed, 1 failed");
	process.exit(1);
});
