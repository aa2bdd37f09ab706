import { getLlama, LlamaLogLevel } from "node-llama-cpp";
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn, progressLogs: false });
console.log(llama.cpuMathCores, llama.buildType, llama.gpu, llama.llamaCppRelease);
for (const f of process.argv.slice(2)) {
  try {
    const model = await llama.loadModel({ modelPath: f });
    console.log(f, "ok", model.tokenizer("hello world", false));
    const ctx = await model.createContext({ contextSize: 64, batchSize: 64, sequences: 1, threads: 2 });
    const seq = ctx.getSequence();
    const toks = [1, 50, 60, 70];
    const res = await seq.controlledEvaluate(toks.map(t => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 } } }]));
    console.log(res.length, res[0].next.probabilities.size, [...res[3].next.probabilities.entries()].slice(0, 3));
    await ctx.dispose(); await model.dispose();
  } catch (e) { console.log(f, "FAIL", e.message); }
}
