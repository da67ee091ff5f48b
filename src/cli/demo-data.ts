// `ahamask demo-data --out DIR --n N --seed S [--format wav|flac]`: the demo SALMONN's procedural data set
// (issue 11). Speech from espeak-ng (run here, pinned voice and options), resampled to 16 kHz with the library's
// torchaudio-exact resampler; beeps, mixing and every random choice in src/demo/synth.ts. Same seed, same bytes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AhamaskError } from '../errors.js';
import { decodeWav, resample } from '../io/audio.js';
import { encodeFlacPcm16, encodeWavPcm16, toPcm16 } from '../io/audio-encode.js';
import { DEMO_TASKS, MASK_PROMPT, type DemoClip } from '../demo/tasks.js';
import { MAX_CLIP_SECONDS, SAMPLE_RATE, demoClip, espeakArgs, maxSpeechSamples, planClip, renderClip, trimSilence, type ClipPlan } from '../demo/synth.js';

const USAGE = `usage: ahamask demo-data --out DIR --n N --seed S [--format wav|flac] [-q]

Writes N procedural clips (spoken digits by a male or female espeak-ng voice, plus 1-3 rising or falling beeps)
and the demo tasks' data and prompt JSON (AHAMask schema). Deterministic: the same seed gives the same bytes.
Needs espeak-ng (apt-get install espeak-ng). Paths in the JSON are DIR/audio/<id>.<ext> exactly as --out is
given: run from the directory training and evaluation will run from (the repo root).

  --out DIR            output directory (created)
  --n N                number of clips
  --seed S             seed (non-negative integer); clip ids are s<S>_<index>
  --format wav|flac    audio format (default wav)
  -q, --quiet          no progress line`;

export interface DemoDataArgs {
  out: string;
  n: number;
  seed: number;
  format: 'wav' | 'flac';
  quiet: boolean;
}

/** Parsed arguments, or the one-line complaint. */
export function parseDemoDataArgs(argv: string[]): DemoDataArgs | string {
  let out: string | undefined, n: number | undefined, seed: number | undefined;
  let format: 'wav' | 'flac' = 'wav', quiet = false;
  const int = (flag: string, v: string | undefined): number | string => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > 0xffffffff) return `${flag} needs a non-negative integer, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`;
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') {
      out = argv[++i];
      if (!out) return '--out needs a directory';
    } else if (a === '--n' || a === '--seed') {
      const v = int(a, argv[++i]);
      if (typeof v === 'string') return v;
      if (a === '--n') n = v;
      else seed = v;
    } else if (a === '--format') {
      const f = argv[++i];
      if (f !== 'wav' && f !== 'flac') return `--format must be wav or flac, got ${JSON.stringify(f ?? '')}`;
      format = f;
    } else if (a === '-q' || a === '--quiet') quiet = true;
    else return `unknown argument ${JSON.stringify(a)}`;
  }
  if (out === undefined) return 'missing --out DIR';
  if (n === undefined) return 'missing --n N';
  if (n < 1 || n > 99999) return `--n must be in 1..99999, got ${n}`;
  if (seed === undefined) return 'missing --seed S';
  return { out: out.replace(/\/+$/, '') || '/', n, seed, format, quiet };
}

/** `espeak-ng --version` without the machine-specific data path, e.g. "eSpeak NG text-to-speech: 1.51". */
export function espeakVersion(): string {
  const r = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new AhamaskError('espeak-ng is not installed; install it: apt-get install espeak-ng');
    throw new AhamaskError(`espeak-ng --version failed: ${r.error.message}`);
  }
  if (r.status !== 0) throw new AhamaskError(`espeak-ng --version failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout.trim().replace(/\s+Data at:.*$/s, '');
}

/**
 * espeak-ng's WAV on stdout declares a streaming data size (0x7ffff...), which decodeWav rightly rejects; fix
 * the RIFF and data sizes to the bytes actually received, then decode.
 */
function decodeEspeakWav(bytes: Uint8Array, what: string): { rate: number; x: Float64Array } {
  const b = bytes.slice();
  const dv = new DataView(b.buffer);
  const tag = (o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (b.length < 44 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new AhamaskError(`${what}: espeak-ng did not write a WAV file`);
  let p = 12;
  while (p + 8 <= b.length) {
    const size = dv.getUint32(p + 4, true);
    if (tag(p) === 'data') {
      const actual = (b.length - p - 8) & ~1;
      dv.setUint32(p + 4, Math.min(size, actual), true);
      dv.setUint32(4, p + Math.min(size, actual), true);
      break;
    }
    p += 8 + size + (size & 1);
  }
  const a = decodeWav(b.subarray(0, Math.min(b.length, 8 + dv.getUint32(4, true))), what);
  return { rate: a.sampleRate, x: a.channels[0] };
}

/** espeak-ng's WAV for `plan` (at `speed`), from a child process (several run at once, see generateDemoData). */
function espeak(plan: ClipPlan, speed: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('espeak-ng', espeakArgs(plan, speed), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new AhamaskError('espeak-ng is not installed; install it: apt-get install espeak-ng') : e));
    child.on('close', (code) => {
      if (code !== 0) reject(new AhamaskError(`espeak-ng failed for ${plan.id} (exit ${code}): ${Buffer.concat(err).toString().trim()}`));
      else {
        const b = Buffer.concat(out);
        resolve(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      }
    });
  });
}

/** Trimmed 16 kHz speech from espeak-ng's WAV, or null when it is too long for the plan's clip. */
function toSpeech(plan: ClipPlan, wav: Uint8Array): Float32Array | null {
  const { rate, x } = decodeEspeakWav(wav, `espeak-ng output for ${plan.id}`);
  const speech = trimSilence(resample(Float32Array.from(x), rate, SAMPLE_RATE));
  if (speech.length === 0) throw new AhamaskError(`espeak-ng produced silence for ${plan.id}`);
  return speech.length <= maxSpeechSamples(plan) ? speech : null;
}

/** Speech of a plan, re-spoken faster (up to 3 times) when it would not fit the clip. */
async function speak(plan: ClipPlan, first: Promise<Uint8Array>): Promise<Float32Array> {
  let speed = plan.speed;
  let wav = await first;
  for (let attempt = 0; ; attempt++) {
    const speech = toSpeech(plan, wav);
    if (speech) return speech;
    if (attempt === 3) throw new AhamaskError(`${plan.id}: the digits do not fit a ${MAX_CLIP_SECONDS} s clip even at espeak-ng -s ${speed}`);
    speed += 25;
    wav = await espeak(plan, speed);
  }
}

/** espeak-ng processes running ahead of the clip being mixed (each mostly waits on process start-up). */
const ESPEAK_AHEAD = 4;

const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';

export interface DemoDataResult {
  clips: DemoClip[];
  seconds: number;
}

/** Generates the data set; `progress` is called after each clip. */
export async function generateDemoData(args: DemoDataArgs, progress?: (done: number) => void): Promise<DemoDataResult> {
  const t0 = performance.now();
  const espeakName = espeakVersion();
  const audioDir = join(args.out, 'audio');
  mkdirSync(audioDir, { recursive: true });
  mkdirSync(join(args.out, 'prompts'), { recursive: true });
  const plans = Array.from({ length: args.n }, (_, i) => planClip(args.seed, i));
  const pending: Array<Promise<Uint8Array>> = [];
  const launch = (i: number) => {
    if (i < args.n && !pending[i]) {
      pending[i] = espeak(plans[i], plans[i].speed);
      pending[i].catch(() => {}); // awaited in order below; avoid an unhandled rejection meanwhile
    }
  };
  const clips: DemoClip[] = [];
  for (let i = 0; i < args.n; i++) {
    for (let j = i; j < i + ESPEAK_AHEAD; j++) launch(j);
    const plan = plans[i];
    const rendered = renderClip(plan, await speak(plan, pending[i]));
    delete pending[i];
    const pcm = toPcm16(rendered.samples);
    const bytes = args.format === 'flac' ? encodeFlacPcm16(pcm, SAMPLE_RATE) : encodeWavPcm16(pcm, SAMPLE_RATE);
    const path = `${args.out}/audio/${plan.id}.${args.format}`;
    writeFileSync(join(audioDir, `${plan.id}.${args.format}`), bytes);
    clips.push(demoClip(plan, path, rendered));
    progress?.(i + 1);
  }
  // One clip per line: readable and diff-friendly.
  const head = JSON.stringify({ seed: args.seed, n: args.n, espeak: espeakName }).slice(0, -1);
  writeFileSync(join(args.out, 'clips.json'), `${head},"clips":[\n${clips.map((c) => '  ' + JSON.stringify(c)).join(',\n')}\n]}\n`);
  const all: Array<{ path: string; text: string; task: string }> = [];
  for (const task of DEMO_TASKS) {
    const annotation = clips.map((c) => ({ path: c.path, text: task.target(c), task: task.name }));
    writeFileSync(join(args.out, `${task.name}.json`), json({ annotation }));
    all.push(...annotation);
  }
  writeFileSync(join(args.out, 'all.json'), json({ annotation: all }));
  const byTask = <T>(f: (t: (typeof DEMO_TASKS)[number]) => T) => Object.fromEntries(DEMO_TASKS.map((t) => [t.name, f(t)]));
  writeFileSync(join(args.out, 'prompts', 'train_prompt.json'), json(byTask((t) => t.instructions)));
  writeFileSync(join(args.out, 'prompts', 'test_prompt.json'), json(byTask((t) => t.testInstruction)));
  writeFileSync(join(args.out, 'prompts', 'mask_prompt.json'), json(byTask(() => [MASK_PROMPT])));
  return { clips, seconds: (performance.now() - t0) / 1000 };
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const a = parseDemoDataArgs(argv);
  if (typeof a === 'string') {
    console.error(`ahamask demo-data: ${a}\n\n${USAGE}`);
    return 2;
  }
  const tty = process.stderr.isTTY && !a.quiet;
  const { clips, seconds } = await generateDemoData(a, (done) => {
    if (tty) process.stderr.write(`\rdemo-data: ${done}/${a.n} clips`);
  });
  if (tty) process.stderr.write('\n');
  if (!a.quiet) console.log(`demo-data: ${clips.length} clips (${a.format}) in ${a.out} in ${seconds.toFixed(1)} s (${(clips.length / seconds).toFixed(1)} clips/s)`);
  return 0;
}
