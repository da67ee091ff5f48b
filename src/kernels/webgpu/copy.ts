// Strided view -> contiguous copy with dtype conversion (f32/f16/i32 in and out). f16 outputs are written as
// packed pairs, one u32 per invocation, so no two invocations write the same word.
import type { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { WGSL_ELEMENT_MAIN, WGSL_INDEX, WGSL_MAIN_ARGS, bindElements, elementwisePlan, grid, newOutput, wgslInput, wgslMeta, wgslStridedOffset } from './util.js';

export function copy(x: Tensor, dtype: DType = x.dtype): Tensor {
  const dev = x.device!;
  const shape = [...x.shape];
  const rank = shape.length;
  const out = newOutput(dev, shape, dtype);
  const n = out.size;
  if (n === 0) return out;
  const { ins, chunk } = elementwisePlan(dev, [x], shape);
  const aligned = ins[0].aligned;
  const key = `copy:${x.dtype}>${dtype}:${rank}:${aligned}`;
  const rawInt = x.dtype === 'i32' && dtype === 'i32';
  const pipeline = dev.pipeline(key, () => {
    const off = aligned ? `fn off0(gi: u32) -> u32 { return prm[3u] + gi; }` : wgslStridedOffset(0, rank, 4 + 0, 4 + rank, 3);
    const load = rawInt ? '@group(0) @binding(0) var<storage, read> a: array<i32>;' : wgslInput(0, 'a', x.dtype);
    if (dtype === 'f16') {
      return `${load}
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
${wgslMeta(2)}
${off}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let gi0 = prm[1] + 2u * gi_;
  let end = prm[1] + prm[0];
  if (gi0 >= end) { return; }
  let v0 = ld_a(off0(gi0));
  var v1 = 0.0;
  if (gi0 + 1u < end) { v1 = ld_a(off0(gi0 + 1u)); }
  y[(gi0 - prm[2]) / 2u] = pack2x16float(vec2<f32>(v0, v1));
}`;
    }
    const ty = dtype === 'i32' ? 'i32' : 'f32';
    const val = rawInt ? 'a[off0(gi)]' : dtype === 'i32' ? 'i32(ld_a(off0(gi)))' : 'ld_a(off0(gi))';
    return `${load}
@group(0) @binding(1) var<storage, read_write> y: array<${ty}>;
${wgslMeta(2)}
${off}
${WGSL_ELEMENT_MAIN}
  let gi = prm[1] + gi_;
  y[gi - prm[2]] = ${val};
}`;
  });
  // f16 pairs: chunks start at even elements so every packed word is written by one invocation.
  const step = dtype === 'f16' ? chunk - (chunk % 2) : chunk;
  for (let start = 0; start < n; start += step) {
    const count = Math.min(step, n - start);
    const yb = bindElements(out, start, count);
    const b = aligned && x.span > count ? bindElements(x, x.offset + start, count) : bindElements(x, x.offset, x.span);
    const meta = [count, start, yb.sub, x.offset - b.sub, ...shape, ...ins[0].strides];
    dev.dispatch(pipeline, [b.range, yb.range, dev.meta(meta)], ...grid(dev, dtype === 'f16' ? Math.ceil(count / 2) : count));
  }
  return out;
}
