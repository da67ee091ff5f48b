import { mulberry32 } from '../../src/models/generate.js';

/** Seeded uniform [0, 1) (mulberry32, the generator the library samples with). */
export function rng(seed: number): () => number {
  return mulberry32(seed);
}
