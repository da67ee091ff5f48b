// moved to src/node/train-fs.ts (exported from 'ahamask/node'); kept for older imports (bench/)
export { NodeTrainFs } from '../node/train-fs.js';
