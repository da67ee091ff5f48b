// The naive matmul: one invocation per output element, a plain K loop, no tiling (the bench's baseline).
// Contiguous [M, K] @ [K, N] f32 only.
import { ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { newOutput } from './util.js';

export function matmulNaive(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0] || !a.isContiguous || !b.isContiguous || a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new ShapeError(`matmulNaive needs contiguous f32 [M, K] @ [K, N], got [${a.shape}] @ [${b.shape}]`);
  }
  const dev = a.device!;
  const [M, K] = a.shape, N = b.shape[1];
  const y = newOutput(dev, [M, N]);
  const p = dev.pipeline('mm-naive', () => `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> prm: array<u32>;
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let n = gid.x; let m = gid.y;
  if (m >= M || n >= N) { return; }
  var s = 0.0;
  for (var k = 0u; k < K; k++) { s = fma(a[prm[3] + m * K + k], b[prm[4] + k * N + n], s); }
  y[m * N + n] = s;
}`);
  const meta = dev.meta([M, N, K, a.offset, b.offset]);
  dev.dispatch(p, [a.storage.buffer!, b.storage.buffer!, y.storage.buffer!, meta], Math.ceil(N / 16), Math.ceil(M / 16));
  return y;
}
