// Ops of the conv group: conv1d (groups, stride, padding, fused exact GELU) and conv2d.
import { ShapeError } from '../errors.js';
import { run1 } from '../kernels/registry.js';
import type { Tensor } from '../tensor/tensor.js';

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  groups?: number;
  /** 'gelu': exact-erf GELU fused after the bias. */
  activation?: 'gelu' | 'none';
}

/**
 * 1-D convolution (cross-correlation, as torch.nn.functional.conv1d): x [B, Cin, T], w [Cout, Cin/groups, K],
 * bias [Cout]? -> [B, Cout, floor((T + 2·padding − K) / stride) + 1] f32. Zero padding on both sides.
 * Kernel 'conv1d': inputs [x, w, bias?], attrs { stride, padding, groups, activation, hasBias }.
 */
export function conv1d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv1dOptions = {}): Tensor {
  const stride = opts.stride ?? 1, padding = opts.padding ?? 0, groups = opts.groups ?? 1;
  if (x.rank !== 3 || w.rank !== 3) throw new ShapeError(`conv1d: x [${x.shape}] must be [B, Cin, T] and w [${w.shape}] [Cout, Cin/groups, K]`);
  const [, Cin, T] = x.shape;
  const [Cout, cig, K] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || Cin % groups !== 0 || Cout % groups !== 0) throw new ShapeError(`conv1d: ${groups} groups must divide Cin ${Cin} and Cout ${Cout}`);
  if (cig !== Cin / groups) throw new ShapeError(`conv1d: w [${w.shape}] needs ${Cin / groups} input channels per group`);
  if (!(stride >= 1 && Number.isInteger(stride)) || !(padding >= 0 && Number.isInteger(padding))) throw new ShapeError(`conv1d: bad stride ${stride} or padding ${padding}`);
  if (T + 2 * padding < K) throw new ShapeError(`conv1d: input length ${T} (+2·${padding} padding) is shorter than the kernel ${K}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout)) throw new ShapeError(`conv1d: bias [${bias.shape}] must be [${Cout}]`);
  const attrs = { stride, padding, groups, activation: opts.activation ?? 'none', hasBias: !!bias };
  return run1('conv1d', bias ? [x, w, bias] : [x, w], attrs);
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}

/**
 * 2-D convolution: x [B, Cin, H, W], w [Cout, Cin, kh, kw], bias [Cout]? -> [B, Cout, Ho, Wo] f32.
 * Kernel 'conv2d': inputs [x, w, bias?], attrs { stride: [sh, sw], padding: [ph, pw], hasBias }.
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const pair = (v: number | [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);
  const stride = pair(opts.stride, 1), padding = pair(opts.padding, 0);
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(`conv2d: x [${x.shape}] must be [B, Cin, H, W] and w [${w.shape}] [Cout, Cin, kh, kw]`);
  if (w.shape[1] !== x.shape[1]) throw new ShapeError(`conv2d: w [${w.shape}] does not match ${x.shape[1]} input channels`);
  if (stride.some((s) => !(s >= 1 && Number.isInteger(s))) || padding.some((p) => !(p >= 0 && Number.isInteger(p)))) throw new ShapeError(`conv2d: bad stride [${stride}] or padding [${padding}]`);
  if (x.shape[2] + 2 * padding[0] < w.shape[2] || x.shape[3] + 2 * padding[1] < w.shape[3]) throw new ShapeError(`conv2d: input [${x.shape}] is smaller than the kernel [${w.shape}]`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new ShapeError(`conv2d: bias [${bias.shape}] must be [${w.shape[0]}]`);
  return run1('conv2d', bias ? [x, w, bias] : [x, w], { stride, padding, hasBias: !!bias });
}
