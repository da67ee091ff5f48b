// Node-only helpers: files and the Dawn GPU. Importing this module also lets Salmonn.fromPretrained() take
// folder and config paths and use the Dawn GPU by default.
export * from '../index.js';
export { getDevice, nodeGpu } from './gpu.js';
export { nodeFileSystem, loadFromConfig } from './load.js';
export type { LoadFromConfigOptions } from './load.js';
// A folder on disk as a Directory (`openDirectory(path)`), lazy file sources, atomic writes
export { NodeDirectory, openDirectory, openFile, withFile, FileSource, readFileBytes, readTextFile, writeFileAtomic, writeMaskCheckpoint, readMaskCheckpointFile, openCheckpointPath } from './files.js';
export { NodeTrainFs } from './train-fs.js';
