// llamacpp-peer.mjs: the same benchmark as `sluice bench`, run by llama.cpp (through the npm package
// node-llama-cpp, installed by tests/llamacpp/), so that docs/PERFORMANCE.md can put both side by side.
// Usage: node bench/llamacpp-peer.mjs MODEL.gguf [THREADS] [PROMPT] [GEN]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/llamacpp/package.json"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const [model, threads = "2", nPrompt = "128", nGen = "32"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const m = await llama.loadModel({ modelPath: model });
const ctx = await m.createContext({ contextSize: Number(nPrompt) + Number(nGen) + 8, threads: Number(threads),
	batchSize: Number(nPrompt) });
const seq = ctx.getSequence();
const prompt = Array.from({ length: Number(nPrompt) }, (_, i) => (i * 2654435761) % 259);
const t0 = performance.now();
let first = null, got = 0;
for await (const token of seq.evaluate(prompt, { temperature: 0 })) {
	if (first === null)
		first = performance.now();
	if (++got >= Number(nGen))
		break;
}
const t1 = performance.now();
console.log(JSON.stringify({ engine: "llama.cpp (node-llama-cpp 3.6.0, b4753)", model, threads: Number(threads),
	prefill_tok_s: Number(nPrompt) / ((first - t0) / 1000), decode_tok_s: (got - 1) / ((t1 - first) / 1000) }));
process.exit(0);
