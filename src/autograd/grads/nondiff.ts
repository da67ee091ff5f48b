// Ops whose outputs carry no gradient: comparisons, argmax, in-place KV-cache updates.
import { registerNonDifferentiable } from '../tape.js';

registerNonDifferentiable('greater', 'equal', 'argmax', 'kvAppend', 'kvReorder');
