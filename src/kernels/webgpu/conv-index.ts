// WebGPU kernels for the conv group (registered on import).
import { registerKernel } from '../registry.js';
import { Conv1dAttrs, conv1dGpu } from './conv1d.js';
import { conv1dGrouped } from './conv1d-grouped.js';
import { Conv2dAttrs, conv2dGpu } from './conv2d.js';

registerKernel<Conv1dAttrs>('conv1d', 'webgpu', ([x, w, bias], a) => (a.groups > 1 ? conv1dGrouped(x, w, a.hasBias ? bias : undefined, a) : conv1dGpu(x, w, a.hasBias ? bias : undefined, a)));
registerKernel<Conv2dAttrs>('conv2d', 'webgpu', ([x, w, bias], a) => conv2dGpu(x, w, a.hasBias ? bias : undefined, a));
