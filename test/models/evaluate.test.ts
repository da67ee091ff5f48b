// `ahamask evaluate` in a temp copy of the fixture folder: writes the expected texts (mask-only and prompt-only
// configs), --dump-dir arrays, bad audio items reported and skipped (exit 1), a wrong mask length and a missing
// checkpoint key fail before any weight is loaded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseNpy } from '../../src/io/npy.js';
import { FIXTURE, ROOT, AHAMASK_DATA } from '../helpers/paths.js';
import { EXP, close, errors, json, npy } from './fixture.js';

let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ahamask-eval-'));
  cpSync(FIXTURE, dir, { recursive: true });
  // the copy must be writable (fixtures are read-only)
  const walk = (p: string) => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p)) walk(join(p, f));
  };
  walk(dir);
});
test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log('max errors:', JSON.stringify(errors, null, 1));
});

function ahamask(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: dir, encoding: 'utf8', input, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 240_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const expectedOutput = (audio: string, run: string): string => json(`${audio}/${run}/generation.json`).text_ahamask_evaluate_py;

test('mask config: expected texts, heads-on percentage, --dump-dir, a missing and a corrupt audio item', () => {
  const data = JSON.parse(readFileSync(join(dir, 'data/test.json'), 'utf8'));
  data.annotation.splice(1, 0, { path: 'audio/missing.wav', text: 'x' }, { path: 'audio/corrupt.wav', text: 'y' });
  writeFileSync(join(dir, 'audio/corrupt.wav'), 'RIFF....WAVEjunk');
  writeFileSync(join(dir, 'data/test_bad.json'), JSON.stringify(data));
  const cfg = readFileSync(join(dir, 'decode_config.yaml'), 'utf8').replace('data/test.json', 'data/test_bad.json').replace('"tmp.json"', '"out_mask.json"');
  writeFileSync(join(dir, 'cfg_mask.yaml'), cfg);
  const r = ahamask(['evaluate', '-c', 'cfg_mask.yaml', '--dump-dir', 'dump']);
  assert.is(r.code, 1, r.err);
  assert.match(r.out, /66\.6667% of attention heads will be activated/);
  const out = JSON.parse(readFileSync(join(dir, 'out_mask.json'), 'utf8'));
  assert.is(out.prompt, '');
  assert.equal(out.prediction.map((p: { id: string }) => p.id), ['audio/chirp3s.wav', 'audio/missing.wav', 'audio/corrupt.wav', 'audio/speech_espeak.wav']);
  assert.is(out.prediction[0].output, expectedOutput('chirp3s', 'mask_only'));
  assert.is(out.prediction[3].output, expectedOutput('speech_espeak', 'mask_only'));
  assert.is(out.prediction[0].ground_truth, 'a tone then a rising chirp');
  assert.match(out.prediction[1].output, /ERROR: .*missing\.wav/);
  assert.match(out.prediction[2].output, /ERROR: .*corrupt\.wav/);
  assert.match(readFileSync(join(dir, 'out_mask.json'), 'utf8'), /^\{\n {4}"prompt": "",\n {4}"prediction": \[\n {8}\{\n {12}"id"/);
  // dumps: item 0 = chirp3s, item 3 = speech_espeak; batch dimension dropped
  const names = ['waveform', 'whisper_logmel', 'beats_fbank', 'whisper_encoder_out', 'beats_out', 'qformer_input', 'qformer_out', 'speech_embeds'];
  const tol: Record<string, number> = { waveform: 0, whisper_logmel: 2e-4, beats_fbank: 1e-4, whisper_encoder_out: 5e-4, beats_out: 1e-3, qformer_input: 1e-3, qformer_out: 1e-3, speech_embeds: 1e-3 };
  for (const [idx, audio] of [[0, 'chirp3s'], [3, 'speech_espeak']] as const) {
    const rd = (n: string) => parseNpy(new Uint8Array(readFileSync(join(dir, 'dump', String(idx), `${n}.npy`))));
    for (const n of names) {
      const a = rd(n), e = npy(`${audio}/${n}.npy`);
      assert.equal(a.shape, e.shape, n);
      close(`${n} (evaluate dump)`, a.data as Float32Array, e.data, tol[n]);
    }
    for (const [n, t] of [['llm_input_embeds', 1e-3], ['first_step_logits', 2e-3]] as const) {
      const a = rd(n), e = npy(`${audio}/mask_only/${n}.npy`);
      assert.equal(a.shape, e.shape, n);
      close(`${n} (evaluate dump)`, a.data as Float32Array, e.data, t);
    }
  }
  void EXP;
});

test('prompt config (no mask): the instruction texts', () => {
  const cfg = readFileSync(join(dir, 'decode_config_prompt.yaml'), 'utf8').replace('"tmp.json"', '"out_prompt.json"');
  writeFileSync(join(dir, 'cfg_prompt.yaml'), cfg);
  const r = ahamask(['evaluate', '-c', 'cfg_prompt.yaml']);
  assert.is(r.code, 0, r.err);
  const out = JSON.parse(readFileSync(join(dir, 'out_prompt.json'), 'utf8'));
  assert.is(out.prompt, 'Recognize the speech and give me the transcription.');
  assert.is(out.prediction[0].output, expectedOutput('chirp3s', 'prompt_only'));
  assert.is(out.prediction[1].output, expectedOutput('speech_espeak', 'prompt_only'));
});

test('cli: one line per audio (prompt ignored with a mask), errors reported, exit 1 at the end', () => {
  const r = ahamask(['cli', '-c', 'decode_config.yaml'], 'audio/chirp3s.wav ignored prompt\naudio/nope.wav\naudio/speech_espeak.wav\n');
  assert.is(r.code, 1, r.err);
  assert.is(r.out, `${json('chirp3s/mask_only/generation.json').text_ahamask_decode}\n${json('speech_espeak/mask_only/generation.json').text_ahamask_decode}\n`);
  assert.match(r.err, /error: .*nope\.wav/);
  // each answer's time (stderr when stdin is not a terminal: the answers on stdout stay clean); no prompt is printed
  assert.is((r.err.match(/^\(\d+\.\d\d s, \d+ tokens\)$/gm) ?? []).length, 2, r.err);
  assert.not.match(r.err + r.out, /audio path \[prompt\]>/);
});

test('wrong mask length: one clear error before the LLM loads', () => {
  cpSync(join(AHAMASK_DATA, 'legacy_checkpoints/gender_librispeech/checkpoint.pth'), join(dir, 'mask13b.pth'));
  writeFileSync(join(dir, 'cfg_badmask.yaml'), readFileSync(join(dir, 'decode_config.yaml'), 'utf8').replace('masks/tiny_task/checkpoint.pth', 'mask13b.pth'));
  const r = ahamask(['evaluate', '-c', 'cfg_badmask.yaml']);
  assert.is(r.code, 1);
  assert.match(r.err, /mask13b\.pth: the mask has 1640 entries, but the LLM has 3 layers x \(4 heads \+ 1\) = 15/);
  assert.not.match(r.err, /loading/);
});

test('missing checkpoint keys: one error naming the file and keys, before loading weights', () => {
  writeFileSync(join(dir, 'cfg_badckpt.yaml'), readFileSync(join(dir, 'decode_config.yaml'), 'utf8').replace('ckpt: "salmonn.pth"', 'ckpt: "beats.pt"'));
  const r = ahamask(['evaluate', '-c', 'cfg_badckpt.yaml']);
  assert.is(r.code, 1);
  assert.match(r.err, /beats\.pt: missing \d+ expected key\(s\):\n\s+speech_query_tokens/);
  assert.not.match(r.err, /loading/);
});

test.run();
