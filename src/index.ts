/// <reference types="@webgpu/types" preserve="true" />
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
// Where models come from: in memory, Blobs/Files (a browser folder picker), a base URL (fetch, Range, Cache Storage)
export { MemoryDirectory, BlobDirectory, UrlDirectory, UrlSource, normalizeRelPath } from './io/directories.js';
export type { Directory, ByteSource, LoadProgress, ProgressCallback, UrlDirectoryOptions, CacheLike } from './io/directories.js';
export { MemorySource, BlobSource, SliceSource, readAll, readText } from './io/bytes.js';
export type { FromPretrainedOptions, SalmonnTokenEvent } from './models/salmonn.js';
export type { TokenEvent, GenerateHooks } from './models/generate.js';
export { DECODE_CONFIG_NAMES, setPretrainedPlatform } from './models/pretrained.js';
export type { PretrainedSource, PretrainedPlatform } from './models/pretrained.js';
export type { Target, WeightDType } from './models/weights.js';
// Configs, audio and masks (the original YAML schemas; 16 kHz mono audio as SALMONN's dataset.py prepares it)
export { parseDecodeConfig, parseTrainConfig, applyOverrides, configFolder } from './io/config.js';
export type { DecodeConfig, TrainConfig, SalmonnModelConfig, YamlConfigOptions } from './io/config.js';
export { loadAudio, decodeAudio, resample, TARGET_SAMPLE_RATE } from './io/audio.js';
export type { DecodedAudio, DecodeOptions } from './io/audio.js';
export { readMaskCheckpoint, encodeMaskCheckpoint, maskSummary, headMask } from './io/mask.js';
export type { MaskCheckpoint, MaskCheckpointExtras, MaskSummary } from './io/mask.js';
// AHAMask training (browser-clean: the file system is a TrainFs; Node's is NodeTrainFs in 'ahamask/node')
export { Trainer, checkTrainData, findResumeCheckpoint } from './train/trainer.js';
export type { TrainerOptions, TrainResult, NoiseMode } from './train/trainer.js';
export { MemoryFs } from './train/fs.js';
export type { TrainFs } from './train/fs.js';
export { SpeechSource } from './train/speech.js';
export type { SpeechBatching } from './train/speech.js';
export { SpeechCache } from './train/cache.js';
export { SalmonnSpeechEncoder, salmonnObjective } from './train/salmonn.js';
export { trainingHeatmapSvg, maskHeatmapSvg } from './train/heatmap.js';
// The demo SALMONN's tasks, targets and scoring (issue 11)
export * from './demo/tasks.js';
