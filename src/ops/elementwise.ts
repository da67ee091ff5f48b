import { run1 } from '../kernels/registry.js';
import type { Tensor } from '../tensor/tensor.js';

const un = (op: string) => (x: Tensor) => run1(op, [x], {});
export const exp = un('exp');
export const log = un('log');
export const sqrt = un('sqrt');
export const rsqrt = un('rsqrt');
export const neg = un('neg');
export const abs = un('abs');
export const square = un('square');
export const relu = un('relu');
/** GELU with the exact erf (PyTorch's default, used by Whisper, BEATs and the Q-Former). */
export const gelu = un('gelu');
export const silu = un('silu');
export const erf = un('erf');
/** Derivatives of GELU and SiLU, fused (used by their gradients). */
export const geluGrad = un('geluGrad');
export const siluGrad = un('siluGrad');
export const sigmoid = un('sigmoid');
export const tanh = un('tanh');

/** x * alpha + beta. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  return run1('affine', [x], { alpha, beta });
}
export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}
export function addScalar(x: Tensor, s: number): Tensor {
  return affine(x, 1, s);
}
export function powScalar(x: Tensor, p: number): Tensor {
  return run1('powScalar', [x], { alpha: p });
}
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return run1('clamp', [x], { alpha: lo, beta: hi });
}

const bin = (op: string) => (a: Tensor, b: Tensor) => run1(op, [a, b], {});
/** Broadcasting binary ops (NumPy rules). */
export const add = bin('add');
export const sub = bin('sub');
export const mul = bin('mul');
export const div = bin('div');
export const maximum = bin('maximum');
export const minimum = bin('minimum');
export const greater = bin('greater');
export const equal = bin('equal');
/** a + alpha * b. */
export function axpy(a: Tensor, b: Tensor, alpha: number): Tensor {
  return run1('axpy', [a, b], { alpha });
}
