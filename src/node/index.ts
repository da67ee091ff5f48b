// Node-only helpers: files and the Dawn GPU.
export * from '../index.js';
export { getDevice, nodeGpu } from './gpu.js';
export { nodeFileSystem, loadFromConfig } from '../cli/evaluate.js';
