// Schedule wiring for AHAMask training (spec §6.3): the config's run section mapped onto the autograd schedules
// (LAVIS LinearWarmupCosineLRScheduler, linear τ), and the per-step order: scheduler.step(epoch, i) sets the LR
// BEFORE the forward; τ comes from the global step epoch * iters_per_epoch + i.
import { LinearWarmupCosineLRScheduler } from '../autograd/schedule.js';
import { gumbelTau } from '../autograd/gumbel.js';
import type { RunConfig } from '../io/config.js';

export interface TrainSchedule {
  itersPerEpoch: number;
  maxEpoch: number;
  /** max_epoch * iters_per_epoch. */
  totalSteps: number;
  /** Steps over which τ decays (tau_decay_steps < 1: that fraction of totalSteps; else a step count). */
  tauDecaySteps: number;
  /** The LR the step (epoch, i) uses. */
  lr(epoch: number, i: number): number;
  /** The τ of global step s. */
  tau(globalStep: number): number;
  scheduler: LinearWarmupCosineLRScheduler;
}

export function makeSchedule(run: RunConfig, optimizer: { lr: number } | null = null): TrainSchedule {
  const o = run.optims;
  const totalSteps = o.max_epoch * run.iters_per_epoch;
  const tauDecaySteps = run.tau_decay_steps < 1 ? run.tau_decay_steps * totalSteps : run.tau_decay_steps;
  const scheduler = new LinearWarmupCosineLRScheduler(optimizer, {
    maxEpoch: o.max_epoch,
    itersPerEpoch: run.iters_per_epoch,
    minLr: o.min_lr,
    initLr: o.init_lr,
    warmupSteps: o.warmup_steps,
    warmupStartLr: o.warmup_start_lr,
  });
  return {
    itersPerEpoch: run.iters_per_epoch,
    maxEpoch: o.max_epoch,
    totalSteps,
    tauDecaySteps,
    lr: (epoch, i) => scheduler.lrAt(epoch, i),
    tau: (s) => gumbelTau(s, { start: run.tau_temp_begin, end: run.tau_temp_end, decaySteps: tauDecaySteps }),
    scheduler,
  };
}
