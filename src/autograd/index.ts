// Autograd: importing this installs the tape (a kernel hook) and registers every op gradient.
//
//   const theta = requiresGrad(fromHost(init, [1640], 'f32', dev));   // trainable leaf
//   const opt = new AdamW([theta], { lr: 1e-2, weightDecay: 0 });
//   const sched = ahamaskScheduler(opt);
//   sched.step(epoch, i);                                             // LR before the forward
//   const loss = tidy(() => {                                         // forward intermediates may be freed:
//     const m = gumbelSigmoid(theta, { tau: ahamaskTau(step), batch: B, rng });   // the tape keeps what
//     const l = model(m);                                             // each gradient needs
//     backward(l);                                                    // -> theta.grad
//     return l;
//   });
//   opt.step(); opt.zeroGrad();
//
// Only ops with a tracked input are recorded; each op's `save` keeps only what its gradient needs given which
// inputs need one (a frozen weight's dW is never computed). Blocks can be recomputed in backward with
// checkpoint(fn, inputs). noGrad(fn) turns recording off. Custom ops: registerGrad(name, { save, backward }).
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
