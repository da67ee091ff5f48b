// Autograd: importing this installs the tape (a kernel hook) and registers every op gradient.
import './grads/index.js';

export {
  AutogradError,
  backward,
  backwardMany,
  detach,
  enableGrad,
  freeGraph,
  grad,
  gradOp,
  hasGrad,
  isGradEnabled,
  isTracked,
  noGrad,
  recordOp,
  registerGrad,
  registerNonDifferentiable,
  registeredGrads,
  requiresGrad,
  setGradEnabled,
} from './tape.js';
export type { BackwardOptions, GradContext, GradDef, SaveContext, TensorMeta } from './tape.js';
export { checkpoint } from './checkpoint.js';
export { AdamW, SGD, Optimizer, assign, clipGradNorm } from './optim.js';
export type { AdamWOptions, SGDOptions, ParamGroup, ParamState, OptimizerStateDict } from './optim.js';
export { LinearWarmupCosineLRScheduler, ahamaskScheduler, cosineLr, warmupLr } from './schedule.js';
export type { LinearWarmupCosineOptions } from './schedule.js';
export { gumbelSigmoid, gumbelTau, ahamaskTau, sampleExponential } from './gumbel.js';
export type { GumbelSigmoidOptions } from './gumbel.js';
export { Rng } from './rng.js';
export { sumTo } from './grads/util.js';
