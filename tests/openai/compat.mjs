// compat.mjs: sluice's OpenAI-compatible API through the official openai npm client (pinned in
// package.json). Prints TAP; exits non-zero on any failure.
// Environment: SLUICE_URL (https://host:port), SLUICE_KEY (a developer key), SLUICE_MODEL (a
// deployed model), NODE_EXTRA_CA_CERTS (the controller's CA), SLUICE_STREAMS (concurrent
// streams, default 4).
import OpenAI from "openai";

const url = process.env.SLUICE_URL, key = process.env.SLUICE_KEY, model = process.env.SLUICE_MODEL;
if (!url || !key || !model) {
	console.error("compat.mjs: set SLUICE_URL, SLUICE_KEY and SLUICE_MODEL");
	process.exit(2);
}
const client = new OpenAI({ baseURL: url + "/v1", apiKey: key, maxRetries: 0, timeout: 120000 });
const results = [];

async function check(name, fn) {
	try {
		await fn();
		results.push([true, name]);
	} catch (e) {
		results.push([false, name, e && e.stack ? e.stack : String(e)]);
	}
}

function assert(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello." }];

await check("models.list shows the deployed model", async () => {
	const list = await client.models.list();
	const ids = [];
	for await (const m of list)
		ids.push(m.id);
	assert(ids.includes(model), `models: ${JSON.stringify(ids)}`);
});

await check("chat.completions.create (not streamed): text, usage, finish_reason", async () => {
	const { data: r, response } = await client.chat.completions.create(
		{ model, messages, max_tokens: 12, temperature: 0, seed: 1 }).withResponse();
	assert(r.object === "chat.completion", r.object);
	assert(typeof r.choices[0].message.content === "string", "content");
	assert(["stop", "length"].includes(r.choices[0].finish_reason), r.choices[0].finish_reason);
	assert(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 12, JSON.stringify(r.usage));
	assert(["private", "public"].includes(response.headers.get("x-sluice-zone")), "x-sluice-zone");
	assert(response.headers.get("x-request-id"), "x-request-id");
});

await check("same seed, temperature 0: same text", async () => {
	const a = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0, seed: 3 });
	const b = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0, seed: 3 });
	assert(a.choices[0].message.content === b.choices[0].message.content, "different texts");
});

async function stream(i) {
	const s = await client.chat.completions.create({ model, messages, max_tokens: 16, stream: true,
		stream_options: { include_usage: true }, seed: i });
	let text = "", finish = null, usage = null, chunks = 0;
	for await (const chunk of s) {
		chunks++;
		if (chunk.usage)
			usage = chunk.usage;
		for (const c of chunk.choices) {
			text += c.delta.content || "";
			finish = c.finish_reason || finish;
		}
	}
	assert(chunks >= 2, `only ${chunks} chunks`);
	assert(["stop", "length"].includes(finish), `finish ${finish}`);
	assert(usage && usage.completion_tokens > 0, "usage chunk");
	return text;
}

await check("chat.completions.create (streamed, SSE): chunks, finish_reason, usage", async () => {
	await stream(1);
});

const n = Number(process.env.SLUICE_STREAMS || 4);
await check(`${n} concurrent streams on one agent`, async () => {
	const texts = await Promise.all(Array.from({ length: n }, (_, i) => stream(100 + i)));
	assert(texts.length === n, "streams");
});

await check("completions.create, streamed and not", async () => {
	const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
	assert(r.object === "text_completion" && typeof r.choices[0].text === "string", JSON.stringify(r));
	const s = await client.completions.create({ model, prompt: "Once", max_tokens: 4, stream: true });
	let chunks = 0;
	for await (const c of s)
		chunks += c.choices.length;
	assert(chunks >= 1, "no chunks");
});

await check("stop strings end the text before them", async () => {
	const r = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, seed: 1 });
	const text = r.choices[0].message.content;
	if (text.length < 2)
		return; // nothing to cut
	const stop = text.slice(1, 2);
	const cut = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, seed: 1, stop });
	assert(!cut.choices[0].message.content.includes(stop) && cut.choices[0].finish_reason === "stop",
		JSON.stringify(cut.choices[0]));
});

await check("unknown model: 404 NotFoundError with code model_not_found", async () => {
	try {
		await client.chat.completions.create({ model: "no-such-model", messages });
		assert(false, "no error");
	} catch (e) {
		assert(e instanceof OpenAI.NotFoundError && e.code === "model_not_found", `${e.constructor.name} ${e.code}`);
	}
});

await check("bad API key: 401 AuthenticationError", async () => {
	const bad = new OpenAI({ baseURL: url + "/v1", apiKey: "sk-sluice-wrong", maxRetries: 0 });
	try {
		await bad.chat.completions.create({ model, messages });
		assert(false, "no error");
	} catch (e) {
		assert(e instanceof OpenAI.AuthenticationError, e.constructor.name);
	}
});

await check("malformed request: 400 BadRequestError naming the field", async () => {
	try {
		await client.chat.completions.create({ model, messages: [{ role: "wizard", content: "x" }] });
		assert(false, "no error");
	} catch (e) {
		assert(e instanceof OpenAI.BadRequestError && /messages\[0\]\.role/.test(e.message), e.message);
	}
});

console.log(`1..${results.length}`);
results.forEach(([ok, name, why], i) => {
	if (!ok)
		for (const line of why.split("\n"))
			console.log(`# ${line}`);
	console.log(`${ok ? "ok" : "not ok"} ${i + 1} - ${name}`);
});
process.exit(results.every(r => r[0]) ? 0 : 1);
