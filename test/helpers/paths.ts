import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHARED = resolve(ROOT, '../shared');
export const FIXTURE = resolve(SHARED, 'fixtures/tiny-salmonn');
export const AHAMASK_DATA = resolve(SHARED, 'data/ahamask');
