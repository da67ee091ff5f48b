// Tape-based reverse-mode autograd. Every kernel call goes through runKernel, which reports the outermost op
// to the hook installed here (setOpHook). An op is recorded only when grad mode is on and one of its inputs
// is tracked (a leaf with requiresGrad, or the output of a recorded op). Each recording keeps only what its
// gradient needs (per-input `needs` flags, e.g. matmul with a frozen weight keeps the weight but not the
// activation and never computes dW), as extra references on the storages, so tidy()/dispose() of the
// forward tensors never break the graph. backward() walks the nodes in reverse creation order (a valid
// topological order), runs each op's gradient (written with ops, so every backend has it), frees the node's
// saved tensors and its output gradients right after, and accumulates into the leaves' `.grad`.
import { AhamaskError, ShapeError } from '../errors.js';
import { setOpHook } from '../kernels/registry.js';
import type { DType } from '../tensor/dtype.js';
import type { Storage } from '../tensor/tensor.js';
import { Tensor, fromHost, keep, tidy } from '../tensor/tensor.js';
import { add } from '../ops/elementwise.js';

export class AutogradError extends AhamaskError {}

/** Shape and dtype of an op's input or output, kept after the tensor itself may be gone. */
export interface TensorMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** What an op's `save` sees at record time. */
export interface SaveContext<A = any> {
  op: string;
  attrs: A;
  /** Per input: whether a gradient must flow to it. */
  needs: boolean[];
  inputs: Tensor[];
  outputs: Tensor[];
}

/** What an op's `backward` sees. */
export interface GradContext<A = any> {
  op: string;
  attrs: A;
  /** Per input: whether its gradient is wanted (compute nothing for the others, return null). */
  needs: boolean[];
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  /** The tensors `save` returned, in its order (null where it returned null). */
  saved: (Tensor | null)[];
}

/**
 * The gradient of one op (registered by kernel name). `save` runs at record time (grad mode off) and returns
 * the tensors `backward` needs, chosen from `needs` so nothing is kept for inputs without a gradient; it may
 * also compute new tensors (they are owned by the tape). `backward` gets one gradient per output (null for
 * outputs no gradient reached) and returns one per input (null where `needs` is false), each with the
 * input's shape. Tensors it creates and does not return are disposed.
 */
export interface GradDef<A = any> {
  save?(c: SaveContext<A>): (Tensor | null | undefined)[];
  backward(c: GradContext<A>, grads: (Tensor | null)[]): (Tensor | null | undefined)[];
}

const NONDIFF = Symbol('nondiff');
const gradDefs = new Map<string, GradDef | typeof NONDIFF>();

export function registerGrad<A = any>(op: string, def: GradDef<A>): void {
  gradDefs.set(op, def as GradDef);
}
/** Ops whose outputs carry no gradient (comparisons, argmax, index ops): never recorded. */
export function registerNonDifferentiable(...ops: string[]): void {
  for (const op of ops) gradDefs.set(op, NONDIFF);
}
export function hasGrad(op: string): boolean {
  const d = gradDefs.get(op);
  return d !== undefined && d !== NONDIFF;
}
export function registeredGrads(): string[] {
  return [...gradDefs.entries()].filter(([, d]) => d !== NONDIFF).map(([k]) => k).sort();
}

// ---- nodes ------------------------------------------------------------------------------------------------

interface SavedRef {
  storage: Storage;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}
type Parent = { node: Node; index: number } | { leaf: Tensor } | null;

let nextId = 0;
const finalizer = new FinalizationRegistry<Storage[]>((storages) => {
  for (const s of storages) if (s.refs > 0) s.release();
});

class Node {
  readonly id = nextId++;
  grads: (Tensor | null)[];
  freed = false;
  private storages: Storage[] = [];
  constructor(
    readonly op: string,
    readonly attrs: unknown,
    readonly def: GradDef | undefined,
    public parents: Parent[],
    readonly needs: boolean[],
    readonly inputs: TensorMeta[],
    readonly outputs: TensorMeta[],
    readonly saved: (SavedRef | null)[],
  ) {
    this.grads = outputs.map(() => null);
    for (const s of saved) if (s) this.storages.push(s.storage);
    if (this.storages.length) finalizer.register(this, this.storages, this);
  }
  materialize(): (Tensor | null)[] {
    if (this.freed) throw new AutogradError(`the graph through op '${this.op}' was already freed by a backward(); pass { retainGraph: true } to backward twice`);
    return this.saved.map((s) => (s ? new Tensor(s.storage.retain(), s.shape, s.strides, s.offset) : null));
  }
  release(): void {
    if (this.freed) return;
    this.freed = true;
    finalizer.unregister(this);
    for (const s of this.storages) s.release();
    this.storages = [];
    for (const g of this.grads) g?.dispose();
    this.grads = this.grads.map(() => null);
    // Drop the links so a consumed graph can be collected even while its output tensors are still referenced.
    this.parents = this.parents.map(() => null);
  }
}

const producers = new WeakMap<Tensor, { node: Node; index: number }>();

// ---- grad mode --------------------------------------------------------------------------------------------

let enabled = true;
/** Set while checkpoint() runs its block without grad: whether any op saw a tracked input. */
let probe: { touched: boolean } | null = null;

export function isGradEnabled(): boolean {
  return enabled;
}
/** Runs `fn` (synchronous) with recording off. */
export function noGrad<T>(fn: () => T): T {
  const old = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = old;
  }
}
/** Runs `fn` (synchronous) with recording on (e.g. inside a noGrad scope). */
export function enableGrad<T>(fn: () => T): T {
  const old = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = old;
  }
}
export function setGradEnabled(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/** Marks a leaf tensor as trainable (its `.grad` receives gradients) and returns it. */
export function requiresGrad<T extends Tensor>(t: T, on = true): T {
  if (on && t.dtype === 'i32') throw new AutogradError('only f32/f16 tensors can require grad');
  t.requiresGrad = on;
  return t;
}
/** Whether gradients flow to `t` (a trainable leaf or the output of a recorded op). */
export function isTracked(t: Tensor): boolean {
  return t.requiresGrad || producers.has(t);
}
/** The same values, cut from the graph (a new view on the same storage; no copy). */
export function detach(t: Tensor): Tensor {
  return t.view(t.shape, t.strides, t.offset);
}
/** The op that produced `t` on the tape, if any (debugging). */
export function gradOp(t: Tensor): string | null {
  return producers.get(t)?.node.op ?? null;
}

function parentOf(t: Tensor): Parent {
  const p = producers.get(t);
  if (p && !p.node.freed) return p;
  if (t.requiresGrad) return { leaf: t };
  return null;
}

function savedRef(t: Tensor | null | undefined): SavedRef | null {
  if (!t) return null;
  t.checkLive();
  return { storage: t.storage.retain(), shape: t.shape, strides: t.strides, offset: t.offset };
}

/**
 * Records an op on the tape (what the kernel hook does; also for custom ops computed outside the registry,
 * e.g. a straight-through estimator). No-op when grad mode is off or no input is tracked (unless `force`:
 * record even without tracked inputs, for ops whose gradient reaches leaves another way, as checkpoint()).
 */
export function recordOp(op: string, inputs: Tensor[], attrs: unknown, outputs: Tensor[], opts: { force?: boolean } = {}): void {
  const force = !!opts.force && enabled;
  if (!enabled) {
    if (probe && !probe.touched) probe.touched = inputs.some(isTracked);
    return;
  }
  let any = false;
  const parents = inputs.map((t) => {
    const p = parentOf(t);
    if (p) any = true;
    return p;
  });
  if (!any && !force) return;
  const def = gradDefs.get(op);
  if (def === NONDIFF) return;
  if (!outputs.some((o) => o.dtype !== 'i32')) return;
  const needs = parents.map((p, i) => p !== null && inputs[i].dtype !== 'i32');
  if (!needs.some(Boolean) && !force) return;
  let saved: (SavedRef | null)[] = [];
  if (def?.save) {
    const ctx: SaveContext = { op, attrs, needs, inputs, outputs };
    const ts = noGrad(() => def.save!(ctx));
    const mine = new Set([...inputs, ...outputs]);
    saved = ts.map((t) => {
      const r = savedRef(t);
      // Tensors save() computed itself belong to the tape: drop the handle, keep the storage reference.
      if (t && !mine.has(t)) t.dispose();
      return r;
    });
  }
  const meta = (t: Tensor): TensorMeta => ({ shape: t.shape, dtype: t.dtype });
  const node = new Node(op, attrs, def, parents, needs, inputs.map(meta), outputs.map(meta), saved);
  outputs.forEach((o, i) => {
    if (o.dtype !== 'i32') producers.set(o, { node, index: i });
  });
}

let prevHook: ReturnType<typeof setOpHook> = null;
const installed = Symbol.for('ahamask.autograd.hook');
const g = globalThis as unknown as Record<symbol, boolean>;
if (!g[installed]) {
  g[installed] = true;
  prevHook = setOpHook((name, inputs, attrs, outputs) => {
    prevHook?.(name, inputs, attrs, outputs);
    recordOp(name, inputs, attrs, outputs);
  });
}

/** Runs `fn` with grad off and reports whether any op in it read a tracked tensor (checkpoint()). */
export function probeTracked<T>(fn: () => T): { result: T; touched: boolean } {
  const old = probe;
  const p = { touched: false };
  probe = p;
  try {
    return { result: noGrad(fn), touched: p.touched };
  } finally {
    probe = old;
  }
}

// ---- backward ---------------------------------------------------------------------------------------------

export interface BackwardOptions {
  /** Keep the saved tensors so backward can run through the same graph again. */
  retainGraph?: boolean;
}

function ownHandle(t: Tensor, given: Set<Tensor>): Tensor {
  if (given.has(t)) return t.view(t.shape, t.strides, t.offset);
  given.add(t);
  return t;
}

function accumulateSlot(grads: (Tensor | null)[], i: number, g: Tensor): void {
  const old = grads[i];
  if (!old) {
    grads[i] = g;
    return;
  }
  grads[i] = add(old, g);
  old.dispose();
  g.dispose();
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (t.isDisposed) {
    g.dispose();
    return;
  }
  let v = g;
  if (v.dtype !== 'f32') v = v.cast('f32');
  if (!v.isContiguous) v = v.contiguous();
  if (v !== g) g.dispose();
  if (t.grad && !t.grad.isDisposed) {
    const sum = add(t.grad, v);
    t.grad.dispose();
    v.dispose();
    v = sum;
  }
  t.grad = keep(v);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Backpropagates from `root` (a scalar, or any shape when `grad` is given) and accumulates into `.grad` of
 * every trainable leaf it reaches. Saved tensors and intermediate gradients are freed as each node is done
 * (unless retainGraph). `grad` stays owned by the caller.
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  backwardMany([root], grad ? [grad] : undefined, opts);
}

/** backward() from several roots at once (one pass over the union of their graphs). */
export function backwardMany(roots: Tensor[], grads?: (Tensor | null)[], opts: BackwardOptions = {}): void {
  const seeds: { t: Tensor; seed: Tensor }[] = [];
  try {
    roots.forEach((root, i) => {
      root.checkLive();
      const gr = grads?.[i];
      if (grads && !gr) return;
      if (gr) {
        if (!sameShape(gr.shape, root.shape)) throw new ShapeError(`backward: grad [${gr.shape}] does not match [${root.shape}]`);
        seeds.push({ t: root, seed: detach(gr) });
      } else {
        if (root.size !== 1) throw new AutogradError(`backward: a non-scalar root [${root.shape}] needs an explicit grad`);
        seeds.push({ t: root, seed: fromHost([1], root.shape, 'f32', root.backend === 'cpu' ? 'cpu' : root.device!) });
      }
    });
  } catch (e) {
    for (const s of seeds) s.seed.dispose();
    throw e;
  }
  const retain = !!opts.retainGraph;
  const seen = new Map<number, Node>();
  const stack: Node[] = [];
  for (const { t } of seeds) {
    const p = producers.get(t);
    if (p && p.node.freed) {
      for (const s of seeds) s.seed.dispose();
      throw new AutogradError(`backward: the graph through op '${p.node.op}' was already freed; pass { retainGraph: true }`);
    }
    if (p) stack.push(p.node);
    else if (!t.requiresGrad) {
      for (const s of seeds) s.seed.dispose();
      throw new AutogradError('backward: the tensor does not require grad (no tracked input reached it, or it was computed under noGrad)');
    }
  }
  // Every node reachable from the roots; ids grow with creation, so descending id is a topological order.
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.set(n.id, n);
    for (const q of n.parents) if (q && 'node' in q && !seen.has(q.node.id)) stack.push(q.node);
  }
  const order = [...seen.values()].sort((a, b) => b.id - a.id);
  const old = setGradEnabled(false);
  try {
    for (const { t, seed } of seeds) {
      const p = producers.get(t);
      if (p) accumulateSlot(p.node.grads, p.index, seed);
      else accumulateLeaf(t, seed);
    }
    for (const n of order) runNode(n, retain);
  } finally {
    setGradEnabled(old);
    // On error, leave no gradient buffers behind.
    for (const n of order) {
      for (const gr of n.grads) gr?.dispose();
      n.grads = n.grads.map(() => null);
    }
  }
}

function runNode(n: Node, retain: boolean): void {
  const parents = n.parents;
  const gs = n.grads;
  n.grads = gs.map(() => null);
  if (gs.every((x) => !x)) {
    if (!retain) n.release();
    return;
  }
  if (!n.def) {
    for (const x of gs) x?.dispose();
    throw new AutogradError(`no gradient registered for op '${n.op}'`);
  }
  const saved = n.materialize();
  const ctx: GradContext = { op: n.op, attrs: n.attrs, needs: n.needs, inputs: n.inputs, outputs: n.outputs, saved };
  let ins: (Tensor | null | undefined)[];
  try {
    ins = tidy(() => n.def!.backward(ctx, gs));
  } catch (e) {
    for (const x of [...gs, ...saved]) x?.dispose();
    throw e;
  }
  if (!retain) n.release();
  // One handle per destination first (the same tensor may go to several inputs), then accumulate.
  const given = new Set<Tensor>();
  const sends: [Parent, Tensor][] = [];
  for (let i = 0; i < parents.length; i++) {
    const g = ins[i];
    const q = parents[i];
    if (!g || !n.needs[i] || !q) continue;
    if (!sameShape(g.shape, n.inputs[i].shape)) {
      for (const [, h] of sends) h.dispose();
      throw new AutogradError(`gradient of op '${n.op}' for input ${i} has shape [${g.shape}], expected [${n.inputs[i].shape}]`);
    }
    sends.push([q, ownHandle(g, given)]);
  }
  for (const [q, h] of sends) {
    if ('leaf' in q!) accumulateLeaf(q.leaf, h);
    else accumulateSlot(q!.node.grads, q!.index, h);
  }
  for (const x of ins) if (x && !given.has(x)) x.dispose();
  for (const x of [...gs, ...saved]) if (x && !given.has(x)) x.dispose();
}

/** Frees the saved tensors of the graph behind `t` without running backward (e.g. after an eval forward). */
export function freeGraph(t: Tensor): void {
  const p = producers.get(t);
  if (!p) return;
  const stack: Node[] = [p.node];
  const seen = new Set<Node>();
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const q of n.parents) if (q && 'node' in q) stack.push(q.node);
    n.release();
  }
}

/**
 * Gradients of `root` with respect to the trainable leaves `inputs`, returned instead of accumulated into
 * their `.grad` (which is left as it was). Other trainable leaves reached still accumulate into `.grad`.
 */
export function grad(root: Tensor, inputs: Tensor[], rootGrad?: Tensor, opts: BackwardOptions = {}): (Tensor | null)[] {
  for (const t of inputs) if (!t.requiresGrad) throw new AutogradError('grad(): inputs must be leaves with requiresGrad');
  const before = inputs.map((t) => t.grad);
  for (const t of inputs) t.grad = null;
  try {
    backward(root, rootGrad, opts);
    return inputs.map((t) => t.grad);
  } finally {
    inputs.forEach((t, i) => (t.grad = before[i]));
  }
}
