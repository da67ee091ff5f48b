// Node adapter: a WebGPU Device through Dawn (npm `webgpu`).
import { create, globals } from 'webgpu';
import { Device, DeviceOptions } from '../tensor/device.js';
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

/** The process-wide GPU device (created on first use). */
export function getDevice(opts: Omit<DeviceOptions, 'gpu'> = {}): Promise<Device> {
  shared ??= (async () => {
    try {
      return await Device.create({ ...opts, gpu: nodeGpu(), owner: instance });
    } catch (e) {
      shared = null;
      if (e instanceof GpuError) throw e;
      throw new GpuError(`could not create a WebGPU device: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  })();
  return shared;
}
