// ahamask: the browser-clean library entry (no node: imports). Node helpers live in 'ahamask/node'.
import './kernels/views.js';
import './kernels/cpu/index.js';
import './kernels/webgpu/index.js';

export * from './errors.js';
export * from './tensor/dtype.js';
export * from './tensor/shape.js';
export { Device } from './tensor/device.js';
export type { DeviceOptions, DeviceLimits, Binding, BufferRange, CompileHook } from './tensor/device.js';
export type { AdapterProfile, KernelTuning } from './tensor/tuning.js';
export { recordingDevice, adapterOf, RECORDING_PROFILES } from './tensor/recording-device.js';
export { KERNEL_WORKLOADS, compileKernels } from './ops/kernel-catalog.js';
export { Tensor, Storage, tensor, fromHost, fromF16, empty, zeros, ones, full, tidy, setDefaultDevice, getDefaultDevice, forEachIndex, dataOf } from './tensor/tensor.js';
export type { BackendName } from './tensor/tensor.js';
export { registerKernel, runKernel, run1, hasKernel, registeredKernels, setOpHook } from './kernels/registry.js';
export * from './ops/index.js';
// SALMONN + AHAMask models (each stage callable on its own; see src/models/salmonn.ts)
export { Salmonn, LlamaSession, salmonnArchitecture, memoryEstimate, checkMaskLength, subDirectory, BERT_BASE_UNCASED } from './models/salmonn.js';
export type { SalmonnLoadOptions, SalmonnGenerateOptions, SalmonnGenerateResult, SalmonnArchitecture, SalmonnConfigs, MaskSpec, SpeechFeatures, StageName, StageHook, MemoryEstimate, MemoryEstimateOptions } from './models/salmonn.js';
export { WhisperEncoder } from './models/whisper.js';
export { BeatsEncoder } from './models/beats.js';
export { QFormer, windowGeometry, unfoldWindows } from './models/qformer.js';
export { Llama, KVCache, headMaskTensors } from './models/llama.js';
export { generate, generateOptionsFromConfig, GENERATE_DEFAULTS } from './models/generate.js';
export type { GenerateOptions, GenerateResult, StepModel } from './models/generate.js';
export { buildPromptText, promptIds, splitPrompt } from './models/prompt.js';
// Autograd (tape, gradients, optimizers, LR schedule, hard Gumbel-sigmoid); importing it installs the tape.
export * from './autograd/index.js';
// The demo SALMONN's tasks, targets and scoring (issue 11)
export * from './demo/tasks.js';
