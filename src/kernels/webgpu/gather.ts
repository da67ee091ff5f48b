// Embedding lookup: out[..., c] = table[ids[...], c] for a [V, D] table (f32 or f16, any strides) and i32 ids
// of any shape; f32 output [...ids.shape, D]. Tables larger than one storage binding (the Vicuna-13B fp16
// embedding is 328 MB, lavapipe binds 128 MiB) are bound in runs of rows: one dispatch per run writes the
// outputs whose id falls in it. Out-of-range ids (GPU ids cannot be validated without a readback) give rows of
// zeros; the op validates CPU ids before uploading them.
import { Tensor } from '../../tensor/tensor.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_ELEMENT_MAIN, WG, bindElements, grid, maxBindingElements, newOutput, wgslInput, wgslMeta } from './util.js';

// Metadata: outputs in this dispatch (read by WGSL_ELEMENT_MAIN), first output, first output element bound,
// D, the run of table rows [r0, r1), V, the table view (offset in the binding, row and column strides), the
// ids' offset, and whether this dispatch writes the zero rows of out-of-range ids (the first run does).
const M = metaLayout(['count', 'start', 'ysub', 'D', 'r0', 'r1', 'V', ['t', ['off', 'sv', 'sd']], 'idsOff', 'zeros']);

export function gather(table: Tensor, ids: Tensor): Tensor {
  const dev = table.device!;
  const [V, D] = table.shape;
  const out = newOutput(dev, [...ids.shape, D]);
  const total = out.size;
  if (total === 0) return out;
  const idc = ids.contiguous();
  const [sv, sd] = table.strides;
  const pipeline = dev.pipeline(`gather:${table.dtype}`, () => `${wgslInput(0, 't', table.dtype)}
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}
${WGSL_ELEMENT_MAIN}
  let g = ${M.p('start')} + gi_;
  let D = ${M.p('D')};
  let id = ids[${M.p('idsOff')} + g / D];
  let c = g % D;
  if (id >= i32(${M.p('r0')}) && id < i32(${M.p('r1')})) {
    y[g - ${M.p('ysub')}] = ld_t(${M.p('t.off')} + u32(id) * ${M.p('t.sv')} + c * ${M.p('t.sd')});
  } else if (${M.p('zeros')} != 0u && (id < 0 || id >= i32(${M.p('V')}))) {
    y[g - ${M.p('ysub')}] = 0.0;
  }
}`);
  // Runs of table rows that fit one binding.
  const rowSpan = (D - 1) * sd + 1;
  const maxT = maxBindingElements(dev, table.dtype);
  const rowsPer = table.span <= maxT ? V : Math.max(1, Math.floor((maxT - rowSpan) / Math.max(sv, 1)) + 1);
  // Runs of output elements that fit one binding and one dispatch grid.
  const outPer = Math.min(maxBindingElements(dev, 'f32'), dev.limits.maxComputeWorkgroupsPerDimension * WG * 1024);
  const ib = bindElements(idc, idc.offset, idc.size);
  for (let start = 0; start < total; start += outPer) {
    const count = Math.min(outPer, total - start);
    const yb = bindElements(out, start, count);
    for (let r0 = 0; r0 < Math.max(V, 1); r0 += rowsPer) {
      const r1 = Math.min(V, r0 + rowsPer);
      const tb = r1 > r0 ? bindElements(table, table.offset + r0 * sv, (r1 - r0 - 1) * sv + rowSpan) : bindElements(table, table.offset, 1);
      const meta = M.write({ count, start, ysub: yb.sub, D, r0, r1, V, t: [(table.offset - tb.sub) >>> 0, sv, sd], idsOff: idc.offset - ib.sub, zeros: r0 === 0 ? 1 : 0 });
      dev.dispatch(pipeline, [tb.range, ib.range, yb.range, dev.meta(meta)], ...grid(dev, count));
    }
  }
  if (idc !== ids) idc.dispose();
  return out;
}
