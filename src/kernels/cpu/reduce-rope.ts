// RoPE angle math shared by the CPU reference and the WebGPU cos/sin table, computed the way HF LLaMA
// (transformers 4.28 LlamaRotaryEmbedding) does in f32:
//   inv_freq = 1.0 / (base ** (arange(0, D, 2).float() / D))   (each step rounded to f32)
//   freqs    = t * inv_freq                                      (f32 product)
//   cos/sin  = freqs.cos() / freqs.sin()                         (f32 results)
const f = Math.fround;

/** inv_freq[j] for j < D/2, as f32 values. */
export function ropeInvFreq(D: number, theta: number): Float32Array {
  const half = D >> 1;
  const out = new Float32Array(half);
  for (let j = 0; j < half; j++) out[j] = f(1 / f(Math.pow(f(theta), f((2 * j) / D))));
  return out;
}

/** Interleaved [P, D/2, 2] (cos, sin) table for positions 0..P-1, f32 as HF's cos_cached/sin_cached. */
export function ropeTable(P: number, invFreq: Float32Array): Float32Array {
  const half = invFreq.length;
  const out = new Float32Array(P * half * 2);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < half; j++) {
      const a = f(p * invFreq[j]);
      out[(p * half + j) * 2] = Math.cos(a);
      out[(p * half + j) * 2 + 1] = Math.sin(a);
    }
  }
  return out;
}

/** (cos, sin) of one position and frequency index, f32-rounded. */
export function ropeCosSin(p: number, invFreq: Float32Array, j: number): [number, number] {
  const a = f(p * invFreq[j]);
  return [f(Math.cos(a)), f(Math.sin(a))];
}
