// Node-only helpers: files and the Dawn GPU.
export * from '../index.js';
export { getDevice, nodeGpu } from './gpu.js';
export { nodeFileSystem, loadFromConfig } from '../cli/evaluate.js';
// A folder on disk as a Directory (`openDirectory(path)`), lazy file sources, atomic writes
export { NodeDirectory, openDirectory, openFile, withFile, FileSource, readFileBytes, readTextFile, writeFileAtomic, writeMaskCheckpoint, readMaskCheckpointFile, openCheckpointPath } from './files.js';
