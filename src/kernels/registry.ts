import { AhamaskError } from '../errors.js';
import { BackendName, Tensor, setViewRunner } from '../tensor/tensor.js';

/**
 * op name -> per-backend kernel, as tfjs does: ops (src/ops) validate and call runKernel; kernels
 * (src/kernels/cpu, src/kernels/webgpu) compute; gradients (src/autograd/grads) are written with ops.
 * A kernel registered for backend '*' serves every backend (views).
 */
export type KernelFn<A = any> = (inputs: Tensor[], attrs: A) => Tensor | Tensor[];
export type KernelBackend = BackendName | '*';

const kernels = new Map<string, KernelFn>();

export function registerKernel<A>(name: string, backend: KernelBackend, fn: KernelFn<A>): void {
  kernels.set(`${name}/${backend}`, fn as KernelFn);
}

export function hasKernel(name: string, backend: BackendName): boolean {
  return kernels.has(`${name}/${backend}`) || kernels.has(`${name}/*`);
}

export function registeredKernels(): string[] {
  return [...kernels.keys()].sort();
}

/** Called after every kernel with its inputs and outputs; the autograd tape installs itself here. */
export type OpHook = (name: string, inputs: Tensor[], attrs: unknown, outputs: Tensor[]) => void;
let hook: OpHook | null = null;
let depth = 0;
export function setOpHook(h: OpHook | null): OpHook | null {
  const old = hook;
  hook = h;
  return old;
}

export function runKernel<A>(name: string, inputs: Tensor[], attrs: A): Tensor[] {
  let backend: BackendName | null = null;
  for (const t of inputs) {
    t.checkLive();
    if (backend && t.backend !== backend) {
      throw new AhamaskError(`op '${name}' got tensors on different backends (${backend} and ${t.backend})`);
    }
    if (backend === 'webgpu' && t.device !== inputs[0].device) throw new AhamaskError(`op '${name}' got tensors on different GPU devices`);
    backend = t.backend;
  }
  const b = backend ?? 'cpu';
  const k = kernels.get(`${name}/${b}`) ?? kernels.get(`${name}/*`);
  if (!k) throw new AhamaskError(`no ${b} kernel registered for op '${name}'`);
  // Kernels may call other kernels (a reshape that copies): only the outermost op is recorded.
  depth++;
  let r: Tensor | Tensor[];
  try {
    r = k(inputs, attrs);
  } finally {
    depth--;
  }
  const outs = Array.isArray(r) ? r : [r];
  if (depth === 0) hook?.(name, inputs, attrs, outs);
  return outs;
}

export function run1<A>(name: string, inputs: Tensor[], attrs: A): Tensor {
  return runKernel(name, inputs, attrs)[0];
}

setViewRunner((name, x, attrs) => run1(name, [x], attrs));
