// WebGPU kernels for the attention group (registered on import).
import type { Tensor } from '../../tensor/tensor.js';
import { registerKernel } from '../registry.js';
import { AttentionAttrs, attention } from './attention.js';
import { attentionDecode, kvAppend, kvReorder } from './attention-decode.js';
import { attentionNaive } from './attention-naive.js';
import { attentionBackward } from './attention-backward.js';

registerKernel<AttentionAttrs>('attention', 'webgpu', (inputs, a) => (inputs[0].shape[2] === 1 ? attentionDecode(inputs, a) : attention(inputs, a)));
registerKernel<{ scale: number; causal: boolean }>('attentionNaive', 'webgpu', (inputs, a) => attentionNaive(inputs, a));
registerKernel<{ at: number }>('kvAppend', 'webgpu', ([cache, kv], { at }) => kvAppend(cache, kv, at));
registerKernel<{ beamIdx?: number[]; length?: number }>('kvReorder', 'webgpu', (inputs: Tensor[], a) => kvReorder(inputs[0], a.beamIdx ?? inputs[1], a.length));
registerKernel<AttentionAttrs>('attentionBackward', 'webgpu', (inputs, a) => attentionBackward(inputs, a));
