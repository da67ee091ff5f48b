// Ops whose outputs carry no gradient: comparisons, argmax, in-place KV-cache updates.
import { registerNonDifferentiable } from '../tape.js';

// geluGrad and siluGrad are derivatives already: a second derivative through them is not supported.
registerNonDifferentiable('greater', 'equal', 'argmax', 'kvAppend', 'kvReorder', 'geluGrad', 'siluGrad');
