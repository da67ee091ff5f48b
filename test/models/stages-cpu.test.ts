// SALMONN parity on the CPU reference backend (both audios; the GPU file also covers batches and safetensors).
import { stageSuite } from './stages-suite.js';

stageSuite('salmonn-cpu', async () => 'cpu', { safetensors: false, batch: false });
