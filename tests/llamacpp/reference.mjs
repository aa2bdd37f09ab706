// reference.mjs: a plain float64 forward pass of a llama/qwen2 GGUF model, as a third opinion
// beside sluice and llama.cpp (used by compare.mjs).
//
// llama.cpp computes with approximations of its own (f16 KV cache; activations rounded to f16/bf16
// or quantized to q8_0/q8_K before each matrix product), so it can only bound sluice loosely for
// quantized weights. This reference dequantizes the weights exactly (block layouts as ggml's
// reference C code dequantize_row_q8_0 / _q4_K / _q6_K defines them) and does everything else in
// double precision, so sluice, which keeps activations in f32, must match it tightly for every
// weight type. Tensor offsets come from node-llama-cpp's own GGUF parser (readGgufFileInfo), not
// from sluice's reader.

import { readFileSync } from "node:fs";

const GGML_F32 = 0, GGML_F16 = 1, GGML_Q8_0 = 8, GGML_Q4_K = 12, GGML_Q6_K = 14, GGML_BF16 = 30;

function fp16(h) {
	const s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
	const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
	return s ? -v : v;
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bf16(h) {
	bf16Scratch.setUint32(0, h << 16, true);
	return bf16Scratch.getFloat32(0, true);
}

// Dequantizes n weights of ggml type `type` starting at byte o of buf (dv views the same bytes).
function dequantize(type, buf, dv, o, n) {
	const out = new Float64Array(n);
	switch (type) {
	case GGML_F32:
		for (let i = 0; i < n; i++) out[i] = dv.getFloat32(o + 4 * i, true);
		break;
	case GGML_F16:
		for (let i = 0; i < n; i++) out[i] = fp16(dv.getUint16(o + 2 * i, true));
		break;
	case GGML_BF16:
		for (let i = 0; i < n; i++) out[i] = bf16(dv.getUint16(o + 2 * i, true));
		break;
	case GGML_Q8_0: // 34 bytes: f16 d, 32 x int8
		for (let b = 0; b < n / 32; b++, o += 34) {
			const d = fp16(dv.getUint16(o, true));
			for (let l = 0; l < 32; l++) out[b * 32 + l] = d * dv.getInt8(o + 2 + l);
		}
		break;
	case GGML_Q4_K: // 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
		for (let b = 0; b < n / 256; b++, o += 144) {
			const d = fp16(dv.getUint16(o, true)), dmin = fp16(dv.getUint16(o + 2, true));
			const q = (k) => buf[o + 4 + k];
			const scaleMin = (j) => (j < 4 ? [q(j) & 63, q(j + 4) & 63]
				: [(q(j + 4) & 15) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)]);
			let qs = o + 16, y = b * 256;
			for (let is = 0; is < 8; is += 2, qs += 32) {
				const [s1, m1] = scaleMin(is), [s2, m2] = scaleMin(is + 1);
				for (let l = 0; l < 32; l++) out[y++] = d * s1 * (buf[qs + l] & 15) - dmin * m1;
				for (let l = 0; l < 32; l++) out[y++] = d * s2 * (buf[qs + l] >> 4) - dmin * m2;
			}
		}
		break;
	case GGML_Q6_K: // 210 bytes: 128 bytes low nibbles, 64 bytes high 2 bits, 16 x int8 scales, f16 d
		for (let b = 0; b < n / 256; b++, o += 210) {
			const d = fp16(dv.getUint16(o + 208, true));
			let ql = o, qh = o + 128, sc = o + 192, y = b * 256;
			for (let half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
				for (let l = 0; l < 32; l++) {
					const is = l >> 4, h = buf[qh + l];
					const q1 = ((buf[ql + l] & 15) | ((h & 3) << 4)) - 32;
					const q2 = ((buf[ql + l + 32] & 15) | (((h >> 2) & 3) << 4)) - 32;
					const q3 = ((buf[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
					const q4 = ((buf[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
					out[y + l] = d * dv.getInt8(sc + is) * q1;
					out[y + l + 32] = d * dv.getInt8(sc + is + 2) * q2;
					out[y + l + 64] = d * dv.getInt8(sc + is + 4) * q3;
					out[y + l + 96] = d * dv.getInt8(sc + is + 6) * q4;
				}
			}
		}
		break;
	default:
		throw new Error(`reference: ggml type ${type} is not supported`);
	}
	return out;
}

// Returns the logits (Float64Array of vocab entries) at every position of tokens.
export async function referenceLogits(readGgufFileInfo, file, tokens) {
	const info = await readGgufFileInfo(file, { readTensorInfo: true });
	const buf = readFileSync(file);
	const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
	const align = Number(info.metadata.general?.alignment ?? 32);
	const dataStart = Math.ceil((info.metadataSize + info.tensorInfoSize) / align) * align;

	function tensor(name, required = true) {
		const t = info.tensorInfo.find((x) => x.name === name);
		if (!t) {
			if (required) throw new Error(`reference: no tensor ${name}`);
			return null;
		}
		const cols = Number(t.dimensions[0]), rows = t.dimensions.length > 1 ? Number(t.dimensions[1]) : 1;
		const o = dataStart + Number(t.offset);
		if (o > buf.length) throw new Error(`reference: tensor ${name} lies past the end of the file`);
		return { rows, cols, w: dequantize(t.ggmlType, buf, dv, o, rows * cols) };
	}

	const arch = info.metadata.general.architecture;
	const hp = info.metadata[arch];
	const dim = hp.embedding_length, nLayers = hp.block_count, nHeads = hp.attention.head_count;
	const nKv = hp.attention.head_count_kv ?? nHeads, headDim = dim / nHeads;
	const eps = hp.attention.layer_norm_rms_epsilon, base = hp.rope?.freq_base ?? 10000;
	const neox = arch === "qwen2"; // llama: rotate (2i, 2i+1); qwen2: (i, i + headDim/2)
	const embd = tensor("token_embd.weight");
	const output = tensor("output.weight", false) ?? embd;
	const outNorm = tensor("output_norm.weight");
	const layers = [];
	for (let l = 0; l < nLayers; l++) {
		const g = (s, req = true) => tensor(`blk.${l}.${s}`, req);
		layers.push({
			attnNorm: g("attn_norm.weight"), wq: g("attn_q.weight"), wk: g("attn_k.weight"), wv: g("attn_v.weight"),
			bq: g("attn_q.bias", false), bk: g("attn_k.bias", false), bv: g("attn_v.bias", false),
			wo: g("attn_output.weight"), ffnNorm: g("ffn_norm.weight"),
			gate: g("ffn_gate.weight"), up: g("ffn_up.weight"), down: g("ffn_down.weight"),
		});
	}

	const matvec = (T, x, bias) => {
		const y = new Float64Array(T.rows);
		for (let r = 0; r < T.rows; r++) {
			let s = 0;
			const o = r * T.cols;
			for (let c = 0; c < T.cols; c++) s += T.w[o + c] * x[c];
			y[r] = s + (bias ? bias.w[r] : 0);
		}
		return y;
	};
	const rmsNorm = (x, g) => {
		let ss = 0;
		for (const v of x) ss += v * v;
		const k = 1 / Math.sqrt(ss / x.length + eps);
		return x.map((v, i) => v * k * g.w[i]);
	};
	const rope = (v, pos) => {
		for (let h = 0; h < v.length / headDim; h++)
			for (let i = 0; i < headDim / 2; i++) {
				const theta = pos * base ** (-2 * i / headDim), c = Math.cos(theta), s = Math.sin(theta);
				const a = h * headDim + (neox ? i : 2 * i), b = h * headDim + (neox ? i + headDim / 2 : 2 * i + 1);
				const x0 = v[a], x1 = v[b];
				v[a] = x0 * c - x1 * s;
				v[b] = x0 * s + x1 * c;
			}
	};

	const kCache = layers.map(() => []), vCache = layers.map(() => []);
	const logits = [];
	tokens.forEach((tok, pos) => {
		let x = Float64Array.from(embd.w.subarray(tok * dim, (tok + 1) * dim));
		layers.forEach((L, l) => {
			const h = rmsNorm(x, L.attnNorm);
			const q = matvec(L.wq, h, L.bq), k = matvec(L.wk, h, L.bk), v = matvec(L.wv, h, L.bv);
			rope(q, pos);
			rope(k, pos);
			kCache[l].push(k);
			vCache[l].push(v);
			const att = new Float64Array(dim);
			for (let hh = 0; hh < nHeads; hh++) {
				const kv = Math.floor(hh / (nHeads / nKv)) * headDim, qo = hh * headDim;
				const scores = kCache[l].map((kk) => {
					let s = 0;
					for (let i = 0; i < headDim; i++) s += q[qo + i] * kk[kv + i];
					return s / Math.sqrt(headDim);
				});
				const m = Math.max(...scores), e = scores.map((s) => Math.exp(s - m)), z = e.reduce((a, b) => a + b, 0);
				for (let j = 0; j < e.length; j++)
					for (let i = 0; i < headDim; i++) att[qo + i] += (e[j] / z) * vCache[l][j][kv + i];
			}
			const o = matvec(L.wo, att);
			x = x.map((val, i) => val + o[i]);
			const h2 = rmsNorm(x, L.ffnNorm);
			const g = matvec(L.gate, h2), u = matvec(L.up, h2);
			const d = matvec(L.down, g.map((val, i) => (val / (1 + Math.exp(-val))) * u[i]));
			x = x.map((val, i) => val + d[i]);
		});
		logits.push(matvec(output, rmsNorm(x, outNorm)));
	});
	return logits;
}
