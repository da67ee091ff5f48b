// Node adapter: a WebGPU Device through Dawn (npm `webgpu`).
import { create, globals } from 'webgpu';
import { CompileHook, Device, DeviceOptions } from '../tensor/device.js';
import { GpuError } from '../errors.js';

let instance: GPU | null = null;
let shared: Promise<Device> | null = null;

/** Dawn flags: unrounded timestamps, and f16 on NVIDIA under Vulkan (hidden by default). */
export const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis'];

export function nodeGpu(flags: string[] = DAWN_FLAGS): GPU {
  if (!instance) {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    Object.assign(globalThis, globals);
    // Kept in a module variable for the life of the process: Dawn crashes if this object is collected.
    instance = create(flags) as unknown as GPU;
  }
  return instance;
}

const printed = new Set<string>();
/**
 * A compile hook that writes each kernel's key and WGSL once per process (to stderr by default): what
 * `AHAMASK_PRINT_WGSL=1` installs on the shared device.
 */
export function wgslPrinter(write: (s: string) => void = (s) => process.stderr.write(s)): CompileHook {
  return (key, wgsl) => {
    if (printed.has(key)) return;
    printed.add(key);
    write(`// ---- ahamask kernel ${key}\n${wgsl}\n`);
  };
}

/** The process-wide GPU device (created on first use). `AHAMASK_PRINT_WGSL=1` prints every kernel it compiles. */
export function getDevice(opts: Omit<DeviceOptions, 'gpu'> = {}): Promise<Device> {
  shared ??= (async () => {
    try {
      const print = process.env.AHAMASK_PRINT_WGSL === '1' ? wgslPrinter() : undefined;
      return await Device.create({ onCompile: print, ...opts, gpu: nodeGpu(), owner: instance });
    } catch (e) {
      shared = null;
      if (e instanceof GpuError) throw e;
      throw new GpuError(`could not create a WebGPU device: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  })();
  return shared;
}
