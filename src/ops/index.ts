export * from './elementwise.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './attention.js';
export * from './conv.js';
export * from './quant.js';
