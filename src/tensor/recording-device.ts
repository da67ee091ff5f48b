// A Device over a stand-in GPUDevice that compiles and runs nothing: every pipeline's WGSL still goes through
// `Device.pipeline` (and so `onCompile`), buffers are host memory, dispatches are dropped, reads return what
// was written (zeros after a dispatch). With a named adapter profile it shows which kernel variants an
// adapter would get, without that adapter: `ahamask kernels --profile` and the golden WGSL test use it.
// Results of ops on it are meaningless; only the generated code is.
import { Device, DeviceOptions } from './device.js';

/** Adapter info and features of the profiles a recording device can stand in for. */
export const RECORDING_PROFILES = {
  /** Mesa lavapipe (llvmpipe on AVX2), as Dawn reports it: a software adapter with 8-lane subgroups. */
  software: {
    info: {
      vendor: 'mesa',
      architecture: 'software',
      device: 'llvmpipe-llvm-15-0-6-256-bits-',
      description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      subgroupMinSize: 8,
      subgroupMaxSize: 8,
    },
    features: ['subgroups', 'shader-f16', 'timestamp-query'],
  },
  /** A discrete GPU (NVIDIA Hopper under Vulkan): 32-lane subgroups, real workgroup memory. */
  gpu: {
    info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', subgroupMinSize: 32, subgroupMaxSize: 32 },
    features: ['subgroups', 'shader-f16', 'timestamp-query'],
  },
} as const;
export type RecordingProfile = keyof typeof RECORDING_PROFILES;

/** What a recording device reports: adapter info, features and (optionally) limits. */
export interface RecordingAdapter {
  info: Record<string, string | number | undefined>;
  features: readonly string[];
  limits?: Partial<Record<keyof typeof LIMITS, number>>;
}

const LIMITS = {
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 27,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 10,
  minStorageBufferOffsetAlignment: 256,
};

// WebGPU's flag values (spec constants), for hosts without WebGPU globals.
const USAGE = { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, INDEX: 16, VERTEX: 32, UNIFORM: 64, STORAGE: 128, INDIRECT: 256, QUERY_RESOLVE: 512 };
const MAP_MODE = { READ: 1, WRITE: 2 };

function fakeBuffer(size: number): GPUBuffer {
  const bytes = new Uint8Array(size);
  return {
    size,
    bytes,
    getMappedRange: (offset = 0, n?: number) => bytes.slice(offset, offset + (n ?? size - offset)).buffer,
    mapAsync: async () => undefined,
    unmap: () => undefined,
    destroy: () => undefined,
  } as unknown as GPUBuffer;
}

function fakeGpuDevice(features: readonly string[], limits: typeof LIMITS): GPUDevice {
  const noop = () => undefined;
  const pass = { setPipeline: noop, setBindGroup: noop, dispatchWorkgroups: noop, end: noop };
  const bytesOf = (b: GPUBuffer) => (b as unknown as { bytes: Uint8Array }).bytes;
  return {
    features: new Set(features),
    limits,
    lost: new Promise(() => undefined),
    onuncapturederror: null,
    pushErrorScope: noop,
    popErrorScope: async () => null,
    createBuffer: (d: GPUBufferDescriptor) => fakeBuffer(d.size),
    createShaderModule: (d: GPUShaderModuleDescriptor) => ({ label: d.label }),
    createComputePipeline: (d: GPUComputePipelineDescriptor) => ({ label: d.label, getBindGroupLayout: () => ({}) }),
    createBindGroup: () => ({}),
    createQuerySet: () => ({ destroy: noop }),
    createCommandEncoder: () => ({
      beginComputePass: () => pass,
      copyBufferToBuffer: (s: GPUBuffer, so: number, d: GPUBuffer, dO: number, n: number) => bytesOf(d).set(bytesOf(s).subarray(so, so + n), dO),
      resolveQuerySet: noop,
      finish: () => ({}),
    }),
    queue: {
      submit: noop,
      onSubmittedWorkDone: async () => undefined,
      writeBuffer: (b: GPUBuffer, off: number, data: ArrayBuffer, dataOff = 0, n?: number) =>
        bytesOf(b).set(new Uint8Array(data, dataOff, n ?? data.byteLength - dataOff), off),
    },
    destroy: noop,
  } as unknown as GPUDevice;
}

/**
 * A Device that records the kernels an adapter would compile, without any GPU: a named profile, or the info,
 * features and limits of a real device (`adapterOf(dev)`), which must give the same WGSL as that device.
 */
export function recordingDevice(profile: RecordingProfile | RecordingAdapter, opts: Omit<DeviceOptions, 'gpu'> = {}): Device {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= USAGE;
  g.GPUMapMode ??= MAP_MODE;
  const p: RecordingAdapter = typeof profile === 'string' ? RECORDING_PROFILES[profile] : profile;
  return Device.wrap(fakeGpuDevice(p.features, { ...LIMITS, ...p.limits }), { info: { ...p.info } } as unknown as GPUAdapter, opts);
}

/** The adapter info, features and limits of a device, to make a recording device that stands in for it. */
export function adapterOf(dev: Device): RecordingAdapter {
  return { info: { ...dev.adapterInfo }, features: [...dev.features], limits: { ...dev.limits } };
}
