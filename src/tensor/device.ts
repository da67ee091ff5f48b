import { GpuError } from '../errors.js';
import { AdapterProfile, KernelTuning, adapterProfile } from './tuning.js';

/** A buffer range bound to one binding; offset must be a multiple of minStorageBufferOffsetAlignment. */
export interface BufferRange {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}
export type Binding = GPUBuffer | BufferRange;

export interface DeviceOptions {
  /** `navigator.gpu` in a browser; the `webgpu` package's GPU in Node (see src/node/gpu.ts). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Bytes of free pooled buffers kept for reuse before they are destroyed. */
  poolLimitBytes?: number;
  /** Called with every pipeline's key and WGSL when it is compiled (see `Device.onCompile`). */
  onCompile?: CompileHook;
}

/** Sees each compute pipeline's cache key and WGSL source once, just before it is compiled. */
export type CompileHook = (key: string, wgsl: string) => void;

export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
}

const NO_ADAPTER_HELP =
  'no WebGPU adapter found. In a browser enable WebGPU; in Node on a machine without a GPU install Mesa >= 24 ' +
  "lavapipe: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list " +
  '&& apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers, and set XDG_RUNTIME_DIR=/tmp';

function isRange(b: Binding): b is BufferRange {
  return (b as BufferRange).buffer !== undefined;
}

let nextId = 1;
const ids = new WeakMap<object, number>();
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** Quarter-power-of-two size classes: at most ~19% slack for pooled activations. */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  const e = Math.floor(Math.log2(b));
  const step = 2 ** Math.max(e - 2, 4);
  return Math.ceil(b / step) * step;
}

/**
 * One WebGPU device: limits and features, a buffer pool, cached pipelines / bind groups / small metadata
 * buffers, and one command encoder that records every dispatch until a flush or a readback.
 */
export class Device {
  readonly gpu: GPUDevice;
  readonly adapterInfo: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    /** Subgroup size range (from GPUAdapterInfo where the implementation reports it). */
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  readonly features: ReadonlySet<string>;
  readonly limits: DeviceLimits;
  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;
  readonly hasSubgroups: boolean;
  /** What the kernels may ask of the adapter (software or not, subgroup size, f16, limits): one detector. */
  readonly profile: AdapterProfile;
  /** Kernel configurations forced by tests and benches (empty: every kernel picks its default for `profile`). */
  readonly tuning: KernelTuning = {};
  /** Keeps the `webgpu` package's instance alive (Dawn crashes when it is garbage-collected). */
  readonly owner: unknown;
  /**
   * Called with every pipeline's key and WGSL on a cache miss, before compiling: how kernels are printed
   * (`AHAMASK_PRINT_WGSL=1` in the Node adapter, `ahamask kernels`) and how the golden WGSL test reads them.
   */
  onCompile: CompileHook | null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private pipelines = new Map<string, GPUComputePipeline>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private metaBuffers = new Map<string, GPUBuffer>();
  private free = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private poolLimit: number;
  private staging = new Map<number, GPUBuffer[]>();
  private toDestroy: GPUBuffer[] = [];
  private errors: Promise<GPUError | null>[] = [];
  private uncaptured: string | null = null;
  private lostReason: string | null = null;
  private timestampPass: { querySet: GPUQuerySet } | null = null;
  /**
   * Counters for tests and the bench. bytesAllocated: bytes of the GPU buffers that exist (free pooled ones
   * included); liveBytes: bytes of the buffers allocate() handed out and release() has not taken back yet;
   * readbacks: host round trips (one per read() / readMany()); bytesRead: the bytes they returned.
   */
  readonly stats = { submits: 0, dispatches: 0, buffersCreated: 0, bytesAllocated: 0, liveBytes: 0, pipelineCompiles: 0, readbacks: 0, bytesRead: 0 };

  private constructor(gpu: GPUDevice, adapter: GPUAdapter, owner: unknown, opts: DeviceOptions) {
    this.gpu = gpu;
    this.owner = owner;
    const info = (adapter as unknown as { info?: GPUAdapterInfo }).info;
    this.adapterInfo = {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      subgroupMinSize: (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize,
      subgroupMaxSize: (info as { subgroupMaxSize?: number } | undefined)?.subgroupMaxSize,
    };
    this.features = new Set([...gpu.features] as string[]);
    const l = gpu.limits;
    this.limits = {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    };
    this.hasF16 = this.features.has('shader-f16');
    this.hasTimestamps = this.features.has('timestamp-query');
    this.hasSubgroups = this.features.has('subgroups');
    // Some implementations report the subgroup sizes on the device's adapterInfo rather than the adapter's info.
    const gi = (gpu as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    this.profile = adapterProfile(
      {
        ...this.adapterInfo,
        subgroupMinSize: this.adapterInfo.subgroupMinSize ?? gi?.subgroupMinSize,
        subgroupMaxSize: this.adapterInfo.subgroupMaxSize ?? gi?.subgroupMaxSize,
        isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      },
      this.features,
      this.limits,
    );
    this.poolLimit = opts.poolLimitBytes ?? 1 << 30;
    this.onCompile = opts.onCompile ?? null;
    gpu.lost.then((i) => {
      this.lostReason = `${i.reason}: ${i.message}`;
    });
    gpu.onuncapturederror = (e) => {
      this.uncaptured ??= e.error.message;
    };
  }

  /**
   * A Device over an existing GPUDevice and the adapter it came from (`adapter.info` is read for the adapter
   * info). `create` is the usual way; this serves recording devices (src/tensor/recording-device.ts).
   */
  static wrap(gpu: GPUDevice, adapter: GPUAdapter, opts: DeviceOptions & { owner?: unknown } = {}): Device {
    return new Device(gpu, adapter, opts.owner, opts);
  }

  static async create(opts: DeviceOptions & { owner?: unknown } = {}): Promise<Device> {
    const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new GpuError(NO_ADAPTER_HELP);
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) throw new GpuError(NO_ADAPTER_HELP);
    const want: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
    const requiredFeatures = want.filter((f) => adapter.features.has(f));
    const a = adapter.limits;
    const requiredLimits: Record<string, number> = {
      maxBufferSize: a.maxBufferSize,
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
    };
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
    if (!device) throw new GpuError('the WebGPU adapter refused to create a device');
    const d = new Device(device, adapter, opts.owner, opts);
    if (/nvidia/i.test(d.adapterInfo.vendor) && !d.hasF16) {
      console.warn('ahamask: NVIDIA adapter without shader-f16 (Dawn hides it on Vulkan unless vulkan_enable_f16_on_nvidia is enabled)');
    }
    return d;
  }

  // ---- errors -------------------------------------------------------------------------------------------

  private checkAlive(): void {
    if (this.lostReason) throw new GpuError(`WebGPU device lost (${this.lostReason})`);
  }

  /** Surfaces out-of-memory and validation errors recorded since the last check. */
  async checkErrors(): Promise<void> {
    const errs = this.errors;
    this.errors = [];
    for (const e of await Promise.all(errs)) {
      if (e) throw new GpuError(`GPU out of memory: ${e.message}`);
    }
    if (this.uncaptured) {
      const m = this.uncaptured;
      this.uncaptured = null;
      throw new GpuError(`WebGPU error: ${m}`);
    }
    this.checkAlive();
  }

  // ---- buffers ------------------------------------------------------------------------------------------

  /** A storage buffer of at least `bytes`; pooled ones come in size classes and are reused after release. */
  allocate(bytes: number, pooled = true): GPUBuffer {
    this.checkAlive();
    const size = pooled ? sizeClass(bytes) : Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.limits.maxBufferSize) {
      throw new GpuError(`cannot allocate ${bytes} bytes: the adapter's maxBufferSize is ${this.limits.maxBufferSize}`);
    }
    if (pooled) {
      const list = this.free.get(size);
      const b = list?.pop();
      if (b) {
        this.freeBytes -= size;
        this.stats.liveBytes += size;
        return b;
      }
    }
    this.gpu.pushErrorScope('out-of-memory');
    const b = this.gpu.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.errors.push(this.gpu.popErrorScope());
    this.stats.buffersCreated++;
    this.stats.bytesAllocated += size;
    this.stats.liveBytes += size;
    return b;
  }

  /** Returns a buffer to the pool (commands already recorded that use it still see its old contents). */
  release(b: GPUBuffer, pooled = true): void {
    this.stats.liveBytes -= b.size;
    if (!pooled || this.freeBytes + b.size > this.poolLimit) {
      this.toDestroy.push(b);
      this.stats.bytesAllocated -= b.size;
      return;
    }
    let list = this.free.get(b.size);
    if (!list) this.free.set(b.size, (list = []));
    list.push(b);
    this.freeBytes += b.size;
  }

  /** Destroys every pooled free buffer (e.g. after the encoders ran). */
  trimPool(): void {
    this.flush();
    for (const list of this.free.values()) for (const b of list) this.toDestroy.push(b), (this.stats.bytesAllocated -= b.size);
    this.free.clear();
    this.freeBytes = 0;
    this.flush(true);
  }

  /** Writes host data into a buffer, in queue order after everything recorded so far. */
  write(b: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.checkAlive();
    if (this.pending) this.flush();
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    // Dawn copies at most a few hundred MiB per call comfortably; chunk large writes.
    const chunk = 64 << 20;
    for (let o = 0; o < bytes.byteLength; o += chunk) {
      const part = bytes.subarray(o, Math.min(bytes.byteLength, o + chunk));
      this.gpu.queue.writeBuffer(b, byteOffset + o, part.buffer as ArrayBuffer, part.byteOffset, part.byteLength);
    }
  }

  /** A small read-only storage buffer with kernel metadata (shapes, strides, scalars), cached by content. */
  meta(values: ArrayLike<number> | Uint32Array): GPUBuffer {
    const u = values instanceof Uint32Array ? values : Uint32Array.from(values as ArrayLike<number>);
    const key = u.join(',');
    let b = this.metaBuffers.get(key);
    if (!b) {
      if (this.metaBuffers.size > 8192) {
        for (const old of this.metaBuffers.values()) this.toDestroy.push(old);
        this.metaBuffers.clear();
        this.bindGroups.clear();
      }
      b = this.gpu.createBuffer({ size: Math.max(16, Math.ceil(u.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(u);
      b.unmap();
      this.metaBuffers.set(key, b);
    }
    return b;
  }

  // ---- pipelines and dispatch ---------------------------------------------------------------------------

  /** A compute pipeline cached by `key` (kernel name + specialisation); `code` is built only on a miss. */
  pipeline(key: string, code: () => string, entryPoint = 'main'): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const wgsl = code();
      this.onCompile?.(key, wgsl);
      const module = this.gpu.createShaderModule({ code: wgsl, label: key });
      p = this.gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint }, label: key });
      this.pipelines.set(key, p);
      this.stats.pipelineCompiles++;
    }
    return p;
  }

  private bindGroup(p: GPUComputePipeline, bindings: Binding[]): GPUBindGroup {
    let key = String(idOf(p));
    for (const b of bindings) {
      if (isRange(b)) key += `|${idOf(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}`;
      else key += `|${idOf(b)}`;
    }
    let g = this.bindGroups.get(key);
    if (!g) {
      if (this.bindGroups.size > 16384) this.bindGroups.clear();
      g = this.gpu.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: bindings.map((b, i) => ({
          binding: i,
          resource: isRange(b) ? { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } : { buffer: b },
        })),
      });
      this.bindGroups.set(key, g);
    }
    return g;
  }

  private currentPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.gpu.createCommandEncoder();
    if (!this.pass) {
      const ts = this.timestampPass;
      this.pass = this.encoder.beginComputePass(
        ts ? { timestampWrites: { querySet: ts.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : undefined,
      );
    }
    return this.pass;
  }

  /** Records one dispatch; bindings are bound in order to @binding(0..n-1) of group 0. */
  dispatch(p: GPUComputePipeline, bindings: Binding[], x: number, y = 1, z = 1): void {
    this.checkAlive();
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new GpuError(`dispatch (${x}, ${y}, ${z}) exceeds ${max} workgroups per dimension`);
    const pass = this.currentPass();
    pass.setPipeline(p);
    pass.setBindGroup(0, this.bindGroup(p, bindings));
    pass.dispatchWorkgroups(x, y, z);
    this.pending++;
    this.stats.dispatches++;
  }

  /** Copies between buffers in queue order with the recorded dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    if (!this.encoder) this.encoder = this.gpu.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pending++;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded so far (one submit however many dispatches). */
  flush(force = false): void {
    this.endPass();
    if (this.encoder && (this.pending || force)) {
      this.gpu.queue.submit([this.encoder.finish()]);
      this.stats.submits++;
    } else if (this.encoder) {
      this.encoder.finish();
    }
    this.encoder = null;
    this.pending = 0;
    if (this.toDestroy.length) {
      for (const b of this.toDestroy) b.destroy();
      this.toDestroy = [];
    }
  }

  /** Resolves when the GPU finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Reads `bytes` bytes at `offset` of a buffer back to the host (flushes first). */
  async read(b: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    return (await this.readMany([{ buffer: b, offset, bytes }]))[0];
  }

  /**
   * Reads several buffer ranges back in one round trip: every range is copied into one staging buffer, one
   * submit, one map (a single readback in stats).
   */
  async readMany(ranges: ReadonlyArray<{ buffer: GPUBuffer; offset: number; bytes: number }>): Promise<ArrayBuffer[]> {
    this.checkAlive();
    if (!ranges.length) return [];
    const parts = ranges.map((r) => {
      const start = r.offset - (r.offset % 4);
      return { start, size: Math.ceil((r.offset + r.bytes - start) / 4) * 4, dst: 0 };
    });
    let total = 0;
    for (const p of parts) (p.dst = total), (total += p.size);
    total = Math.max(total, 4);
    const cls = sizeClass(total);
    const list = this.staging.get(cls);
    const st = list?.pop() ?? this.gpu.createBuffer({ size: cls, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    ranges.forEach((r, i) => {
      if (parts[i].size) this.copy(r.buffer, parts[i].start, st, parts[i].dst, parts[i].size);
    });
    this.flush();
    this.stats.readbacks++;
    for (const r of ranges) this.stats.bytesRead += r.bytes;
    try {
      await st.mapAsync(GPUMapMode.READ, 0, total);
    } catch (e) {
      await this.checkErrors();
      throw new GpuError(`readback failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const mapped = st.getMappedRange(0, total);
    const out = ranges.map((r, i) => {
      const o = parts[i].dst + r.offset - parts[i].start;
      return mapped.slice(o, o + r.bytes);
    });
    st.unmap();
    if (cls <= 64 << 20) {
      let l = this.staging.get(cls);
      if (!l) this.staging.set(cls, (l = []));
      if (l.length < 4) l.push(st);
      else st.destroy();
    } else st.destroy();
    await this.checkErrors();
    return out;
  }

  // ---- timing -------------------------------------------------------------------------------------------

  /**
   * GPU milliseconds of the dispatches `record` makes, from timestamp queries written at the beginning and
   * end of one compute pass; null without timestamp-query. `record` must only record dispatches.
   */
  async timeGpu(record: () => void): Promise<number | null> {
    if (!this.hasTimestamps) {
      record();
      await this.sync();
      return null;
    }
    this.flush();
    const querySet = this.gpu.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = this.gpu.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.timestampPass = { querySet };
    try {
      record();
      this.currentPass();
      this.endPass();
    } finally {
      this.timestampPass = null;
    }
    this.encoder!.resolveQuerySet(querySet, 0, 2, resolve, 0);
    this.pending++;
    const raw = await this.read(resolve, 0, 16);
    const t = new BigUint64Array(raw);
    querySet.destroy();
    resolve.destroy();
    return Number(t[1] - t[0]) / 1e6;
  }

  destroy(): void {
    this.flush();
    this.gpu.destroy();
  }
}
