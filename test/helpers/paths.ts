import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** A copy of the project's shared fixtures and data (../shared/{fixtures,data}), so CI needs nothing outside the repo. */
export const SHARED = resolve(ROOT, 'test/shared');
export const FIXTURE = resolve(SHARED, 'fixtures/tiny-salmonn');
export const AHAMASK_DATA = resolve(SHARED, 'data/ahamask');
