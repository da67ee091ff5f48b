// SALMONN parity on the GPU backend (lavapipe here): all stages, both audios, both runs, safetensors Vicuna.
import { gpu } from '../helpers/gpu.js';
import { stageSuite } from './stages-suite.js';

stageSuite('salmonn-gpu', gpu);
