// WebGPU kernels of the quantized-weight group (registered on import): 'qmatmul' and 'qdequant' (qmatmul.ts).
import type { QDequantAttrs, QMatmulAttrs } from '../signatures.js';
import { registerKernel } from '../registry.js';
import { qdequantGpu, qmatmulGpu } from './qmatmul.js';

registerKernel<QMatmulAttrs>('qmatmul', 'webgpu', (inputs, attrs) => qmatmulGpu(inputs, attrs));
registerKernel<QDequantAttrs>('qdequant', 'webgpu', (inputs, attrs) => qdequantGpu(inputs, attrs));
