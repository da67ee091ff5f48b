// SALMONN parity on the CPU reference backend (one audio keeps the file fast; the GPU file covers both).
import { stageSuite } from './stages-suite.js';

stageSuite('salmonn-cpu', async () => 'cpu', { audios: ['speech_espeak'], safetensors: false, batch: false });
