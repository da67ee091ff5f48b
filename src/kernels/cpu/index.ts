import type { DType } from '../../tensor/dtype.js';
import { BINARY_CPU, UNARY_CPU } from '../elementwise-defs.js';
import { registerKernel } from '../registry.js';
import { copyCpu, elementwiseCpu } from './elementwise.js';

for (const op of Object.keys(UNARY_CPU)) {
  registerKernel<{ alpha?: number; beta?: number }>(op, 'cpu', ([x], a) => elementwiseCpu(op, [x], a.alpha ?? 0, a.beta ?? 0));
}
for (const op of Object.keys(BINARY_CPU)) {
  registerKernel<{ alpha?: number }>(op, 'cpu', ([x, y], a) => elementwiseCpu(op, [x, y], a.alpha ?? 0));
}
registerKernel('contiguous', 'cpu', ([x]) => copyCpu(x));
registerKernel<{ dtype: DType }>('cast', 'cpu', ([x], { dtype }) => copyCpu(x, dtype));
import './matmul.js';
import './reduce.js';
import './attention.js';
import './conv.js';
import './quant.js';
