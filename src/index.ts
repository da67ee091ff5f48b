// ahamask: the browser-clean library entry (no node: imports). Node helpers live in 'ahamask/node'.
import './kernels/views.js';
import './kernels/cpu/index.js';
import './kernels/webgpu/index.js';

export * from './errors.js';
export * from './tensor/dtype.js';
export * from './tensor/shape.js';
export { Device } from './tensor/device.js';
export type { DeviceOptions, DeviceLimits, Binding, BufferRange } from './tensor/device.js';
export { Tensor, Storage, tensor, fromHost, fromF16, empty, zeros, ones, full, tidy, setDefaultDevice, getDefaultDevice, forEachIndex } from './tensor/tensor.js';
export type { BackendName } from './tensor/tensor.js';
export { registerKernel, runKernel, run1, hasKernel, registeredKernels, setOpHook } from './kernels/registry.js';
export * from './ops/index.js';
