// What the kernels may ask of an adapter (`AdapterProfile`, derived once per Device) and the configurations
// tests and benches may force (`KernelTuning`, one mutable object per Device). Kernels read both from the
// Device (`dev.profile`, `dev.tuning`) instead of sniffing adapter strings or keeping module-global hooks.

import type { DeviceLimits } from './device.js';

export interface AdapterProfile {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /**
   * A CPU implementation of WebGPU (Mesa lavapipe/llvmpipe, SwiftShader, a fallback adapter): invocations are
   * expensive, workgroup memory and barriers are slow, subgroups are the SIMD lanes.
   */
  software: boolean;
  /** The 'subgroups' feature is enabled. */
  subgroups: boolean;
  /**
   * The subgroup size when the adapter guarantees one (reported min == max; llvmpipe without a report: its
   * SIMD8), else null. Null also without the 'subgroups' feature.
   */
  subgroupSize: number | null;
  /** 'shader-f16' is enabled. */
  f16: boolean;
  /** 'timestamp-query' is enabled. */
  timestamps: boolean;
  limits: DeviceLimits;
}

/** Adapter strings and features as the Device sees them. */
export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  isFallbackAdapter?: boolean;
}

/** The one place that decides whether an adapter is a CPU implementation and what its subgroups are. */
export function adapterProfile(info: AdapterFacts, features: ReadonlySet<string>, limits: DeviceLimits): AdapterProfile {
  const names = `${info.vendor} ${info.device} ${info.description}`;
  const software = !!info.isFallbackAdapter || /software|cpu|swiftshader/i.test(info.architecture) || /llvmpipe|lavapipe|swiftshader|software/i.test(names);
  const subgroups = features.has('subgroups');
  let subgroupSize: number | null = null;
  if (subgroups) {
    const { subgroupMinSize: min, subgroupMaxSize: max } = info;
    if (min !== undefined && max !== undefined) subgroupSize = min === max ? min : null;
    else if (/llvmpipe/i.test(`${info.device} ${info.description}`)) subgroupSize = 8;
  }
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software,
    subgroups,
    subgroupSize,
    f16: features.has('shader-f16'),
    timestamps: features.has('timestamp-query'),
    limits,
  };
}

/**
 * Kernel configurations forced for tests and benches, per Device (`dev.tuning`); an absent field means the
 * default the kernel picks for the adapter profile. Assign, run, then delete the field (or `resetTuning`).
 */
export interface KernelTuning {
  /** Fused attention forward (attention.ts FwdConfig): invocations per workgroup, query rows per invocation, keys per block, keys per workgroup-memory tile (0: subgroup variant), no vec4 K/V loads. */
  attention?: { wg?: number; qpt?: number; bk?: number; tile?: number; noVec4?: boolean };
  /** Attention backward: the direct layout even where the subgroup one would be used. */
  attentionBackwardDirect?: boolean;
  /** Decode attention: keys per split (rounded up to a whole workgroup; default 256) and whether CPU adapters may use the subgroup variant (default true). */
  decode?: { chunk?: number; subgroups?: boolean };
  /** conv1d (conv1d.ts Conv1dConfig): output channels per invocation, time steps per lane, workgroup size, direct (non-subgroup) layout. */
  conv1d?: { co?: number; tpl?: number; wg?: number; direct?: boolean };
  /** conv2d: as conv1d; sg 0 selects the direct layout. */
  conv2d?: { co?: number; tpl?: number; wg?: number; sg?: number };
  /** Row kernels (reductions, softmax, norms): workgroup size (32..256, a power of two) and subgroup reductions. */
  rows?: { wg?: number; subgroups?: boolean };
}

/** Clears every forced configuration. */
export function resetTuning(t: KernelTuning): void {
  for (const k of Object.keys(t) as (keyof KernelTuning)[]) delete t[k];
}
