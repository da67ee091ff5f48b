// Cross-entropy as torch.nn.functional.cross_entropy(logits [N, V], targets i32 [N], ignore_index, 'mean'):
// a row kernel computes loss_r = logsumexp(x_r) - x_r[t_r] (online max/sum-exp as softmax; 0 for ignored
// rows), then a one-workgroup kernel sums the non-ignored losses and divides by their count (0/0 = NaN when
// every row is ignored, like torch). Targets outside [0, V) that are not ignore_index cannot raise on the
// GPU: their loss is NaN (the CPU reference throws, as torch does).
import { Tensor } from '../../tensor/tensor.js';
import { metaLayout } from './meta-layout.js';
import { ROW_META, dispatchRows, extraBase, rowConfig, rowKey, rowLayout, wgslRowKernel } from './reduce.js';
import { wgslSoftmaxStats } from './softmax.js';
import { bindElements, newOutput, wgslInput, wgslMeta } from './util.js';

/** Per-row kernel: values after the row header (at `E`): ignore_index (i32 bits), the targets' view. */
const EXTRA = metaLayout(['ignore', ['tg', ['off', 'stride']]]);
/** Mean kernel: rows, ignore_index, the targets' view. */
const MEAN = metaLayout(['N', 'ignore', ['tg', ['off', 'stride']]]);

/** Per-row losses [N] (0 where the target is ignore_index). */
export function crossEntropyPerRow(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const dev = logits.device!;
  const [N, V] = logits.shape;
  const out = newOutput(dev, [N]);
  if (N === 0) return out;
  const L = rowLayout(logits, 1, [1], 0);
  const n = L.outer.length;
  const rc = rowConfig(dev, V);
  const E = extraBase(n);
  const decls = `${wgslInput(0, 'x', logits.dtype)}
@group(0) @binding(1) var<storage, read> tg: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}`;
  const pipeline = dev.pipeline(`xent:${logits.dtype}:${n}:${rowKey(rc)}`, () => wgslRowKernel(rc, n, decls, wgslSoftmaxStats(rc), `let st = row_stats(o.x, R, xk);
  if (lid == 0u) {
    let t = tg[${EXTRA.p('tg.off', E, true)} + (${ROW_META.p('r0')} + wid) * ${EXTRA.p('tg.stride', E, true)}];
    var loss = 0.0;
    if (t != bitcast<i32>(${EXTRA.p('ignore', E, true)})) {
      if (t < 0 || u32(t) >= R || st.y < 0.0) {
        loss = nan_();
      } else {
        loss = st.x + log(st.y) - ld_x(o.x + u32(t) * xk);
      }
    }
    y[o.y] = loss;
  }`));
  const tb = bindElements(targets, targets.offset, targets.span);
  dispatchRows(dev, pipeline, logits, out, L, { mid: [tb.range], extra: EXTRA.write({ ignore: ignoreIndex >>> 0, tg: [targets.offset - tb.sub, targets.strides[0]] }) });
  return out;
}

/** Mean loss over the rows whose target is not ignore_index, shape []. */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const dev = logits.device!;
  const per = crossEntropyPerRow(logits, targets, ignoreIndex);
  const out = newOutput(dev, []);
  const N = logits.shape[0];
  const pipeline = dev.pipeline('xent-mean', () => `@group(0) @binding(0) var<storage, read> l: array<f32>;
@group(0) @binding(1) var<storage, read> tg: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}
var<workgroup> sh_l: array<f32, 256>;
var<workgroup> sh_c: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var c = 0u;
  for (var r = lid; r < ${MEAN.p('N')}; r += 256u) {
    if (tg[${MEAN.p('tg.off')} + r * ${MEAN.p('tg.stride')}] != bitcast<i32>(${MEAN.p('ignore')})) {
      s += l[r];
      c += 1u;
    }
  }
  sh_l[lid] = s;
  sh_c[lid] = c;
  workgroupBarrier();
  for (var st = 128u; st > 0u; st >>= 1u) {
    if (lid < st) {
      sh_l[lid] += sh_l[lid + st];
      sh_c[lid] += sh_c[lid + st];
    }
    workgroupBarrier();
  }
  // Every row ignored: NaN as torch (0 / 0 is not reliably NaN under the drivers' float optimisations).
  if (lid == 0u) { y[0] = select(sh_l[0] / f32(sh_c[0]), bitcast<f32>(0x7fc00000u + (prm[0] & 0u)), sh_c[0] == 0u); }
}`);
  const tb = bindElements(targets, targets.offset, Math.max(targets.span, 1));
  const lb = bindElements(per, 0, Math.max(N, 1));
  dev.dispatch(pipeline, [lb.range, tb.range, bindElements(out, 0, 1).range, dev.meta(MEAN.write({ N, ignore: ignoreIndex >>> 0, tg: [targets.offset - tb.sub, targets.strides[0] ?? 0] }))], 1);
  per.dispose();
  return out;
}
