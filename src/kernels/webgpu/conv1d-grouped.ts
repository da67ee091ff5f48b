// Grouped conv1d (BEATs' positional convolution: 768 channels, kernel 128, 16 groups, padding 64): the
// conv1d register kernel specialised per group. Each workgroup owns one block of a group's output channels;
// the long kernel is walked with the sliding input window (one load per tap), so the cost is in the
// multiply-adds, not in re-reading the input for every tap.
import type { Tensor } from '../../tensor/tensor.js';
import { cpuSubgroupSize } from './attention.js';
import { Conv1dAttrs, Conv1dConfig, conv1dGpu } from './conv1d.js';

/** Tiling for grouped convolutions: channel blocks never straddle groups (48 per group for BEATs). */
export function groupedConfig(dev: NonNullable<Tensor['device']>, coPerGroup: number): Partial<Conv1dConfig> {
  const sg = cpuSubgroupSize(dev);
  if (sg) {
    // two subgroups of channels when that divides the group (48 per group -> 16), else three, else one
    for (const m of [2, 3, 1]) if (coPerGroup % (m * sg) === 0) return { co: m * sg, tpl: 8 };
    return { co: sg, tpl: 8 };
  }
  return { co: 8, tpl: 4, wg: 64 };
}

export function conv1dGrouped(x: Tensor, w: Tensor, bias: Tensor | undefined, a: Conv1dAttrs): Tensor {
  const cog = w.shape[0] / a.groups;
  return conv1dGpu(x, w, bias, a, groupedConfig(x.device!, cog));
}
