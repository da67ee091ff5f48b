import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { FormatError } from '../../src/index.js';
import { parseDecodeConfig, parseTrainConfig, parseYaml, resolvePath } from '../../src/io/config.js';

const read = (p: string): string => readFileSync(p, 'utf8');
function collect(): { warn: (m: string) => void; msgs: string[] } {
  const msgs: string[] = [];
  return { warn: (m) => msgs.push(m), msgs };
}

test('fixture decode_config.yaml (mask, greedy): values, resolved paths, no warnings', () => {
  const w = collect();
  const c = parseDecodeConfig(read(join(FIXTURE, 'decode_config.yaml')), { file: 'decode_config.yaml', cwd: FIXTURE, warn: w.warn });
  assert.equal(w.msgs, []);
  assert.is(c.prompt, '');
  assert.is(c.batch_size_eval, 1);
  assert.is(c.prob_threshold, 0.5);
  assert.is(c.test_data_path, join(FIXTURE, 'data/test.json'));
  assert.is(c.output_path, join(FIXTURE, 'tmp.json'));
  assert.is(c.model.llama_path, join(FIXTURE, 'vicuna'));
  assert.is(c.model.whisper_path, join(FIXTURE, 'whisper'));
  assert.is(c.model.beats_path, join(FIXTURE, 'beats.pt'));
  assert.is(c.model.ckpt, join(FIXTURE, 'salmonn.pth'));
  assert.is(c.model.weight_mask_path, join(FIXTURE, 'masks/tiny_task/checkpoint.pth'));
  assert.is(c.model.speech_llama_proj_model, '');
  assert.is(c.model.prompt_path, join(FIXTURE, 'prompts/train_prompt.json'));
  assert.is(c.model.prompt_template, 'USER: {}\nASSISTANT:');
  assert.is(c.model.second_per_window, 0.333333);
  assert.is(c.model.lora_alpha, 32);
  assert.is(c.model.multi_prompt, true);
  assert.is(c.model.max_txt_len, 300);
  assert.equal(c.generate, { max_new_tokens: 20, num_beams: 1, do_sample: false, min_length: 1, temperature: 1.0, top_p: 0.9, repetition_penalty: 1.0, length_penalty: 1.0 });
});

test('fixture decode_config_prompt.yaml: weight_mask_path null = no mask', () => {
  const c = parseDecodeConfig(read(join(FIXTURE, 'decode_config_prompt.yaml')), { file: 'p.yaml', cwd: FIXTURE, warn: () => assert.unreachable() });
  assert.is(c.model.weight_mask_path, null);
  assert.is(c.prompt, 'Recognize the speech and give me the transcription.');
});

test('released AHAMask decode_config.yaml', () => {
  const w = collect();
  const c = parseDecodeConfig(read(join(AHAMASK_DATA, 'configs/decode_config.yaml')), { file: 'decode_config.yaml', cwd: '/work/run', warn: w.warn });
  assert.equal(w.msgs, []);
  assert.is(c.batch_size_eval, 4);
  assert.is(c.model.weight_mask_path, '/work/run/legacy_checkpoints/gender_librispeech/checkpoint.pth');
  assert.is(c.model.llama_path, '/work/run/lmsys/vicuna-13b-v1.1');
  assert.is(c.generate.max_new_tokens, 100);
  assert.is(c.generate.num_beams, 4);
  // keys the released decode config omits get SALMONN.from_config defaults
  assert.is(c.model.autocast_dtype, 'float16');
  assert.is(c.model.norm_lambda, 1e-4);
  assert.is(c.model.use_gumbel, true);
});

test('fixture train_config.yaml and released config.yaml: YAML 1.2 numbers, defaults, norm_lambda copy', () => {
  for (const [file, cwd] of [[join(FIXTURE, 'train_config.yaml'), FIXTURE], [join(AHAMASK_DATA, 'configs/config.yaml'), '/w']]) {
    const w = collect();
    const c = parseTrainConfig(read(file), { file, cwd, warn: w.warn });
    assert.equal(w.msgs, [], file);
    assert.is(c.run.norm_lambda, 1e-4);
    assert.is(typeof c.run.optims.warmup_start_lr, 'number');
    assert.is(c.run.optims.warmup_start_lr, 1e-6);
    assert.is(c.run.optims.init_lr, 1e-2);
    assert.is(c.run.optims.min_lr, 1e-4);
    assert.is(c.run.optims.max_epoch, 30);
    assert.is(c.run.optims.warmup_steps, 3000);
    assert.is(c.run.optims.beta2, 0.999);
    assert.is(c.run.tau_decay_steps, 0.3);
    assert.is(c.run.tau_temp_begin, 4.0);
    assert.is(c.run.tau_temp_end, 0.05);
    assert.is(c.run.iters_per_epoch, 3000);
    assert.is(c.run.seed, 42);
    assert.is(c.run.amp, true);
    assert.is(c.model.norm_lambda, c.run.norm_lambda);
    assert.is(c.model.use_gumbel, true);
    assert.is(c.model.gumbel_hard, true);
    assert.is(c.model.weight_mask_path, null);
    assert.is(c.run.output_dir, resolvePath(cwd, file.includes('fixtures') ? 'exp/oracle' : 'exp/demo_output'));
  }
  const f = parseTrainConfig(read(join(FIXTURE, 'train_config.yaml')), { file: 't.yaml', cwd: FIXTURE });
  assert.is(f.datasets.train_ann_path, join(FIXTURE, 'data/train.json'));
  assert.is(f.datasets.whisper_path, join(FIXTURE, 'whisper'));
  assert.is(f.run.batch_size_train, 2);
});

test('defaults of the original code apply when keys are absent', () => {
  const c = parseDecodeConfig('model:\n  llama_path: a\n  whisper_path: b\n', { file: 'min.yaml', cwd: '/x' });
  assert.is(c.model.beats_path, '');
  assert.is(c.model.ckpt, '');
  assert.is(c.model.multi_prompt, false);
  assert.is(c.model.max_txt_len, 128);
  assert.is(c.model.prompt_template, '');
  assert.is(c.model.lora_rank, 8);
  assert.is(c.model.weight_mask_path, null);
  assert.is(c.output_path, '/x/tmp.json');
  assert.is(c.test_data_path, null);
  assert.equal(c.generate, { max_new_tokens: 200, num_beams: 4, do_sample: false, min_length: 1, temperature: 1.0, top_p: 0.9, repetition_penalty: 1.0, length_penalty: 1.0 });
  const t = parseTrainConfig(
    'model: {llama_path: a, whisper_path: b}\ndatasets: {train_ann_path: t, valid_ann_path: v, test_ann_path: s, whisper_path: w}\n' +
    'run: {seed: 1, output_dir: o, iters_per_epoch: 10, batch_size_train: 2, tau_decay_steps: 0.3, tau_temp_begin: 4, tau_temp_end: 0.05, norm_lambda: 0,\n' +
    '  optims: {max_epoch: 1, init_lr: 1e-2, min_lr: 1e-4, weight_decay: 0.05}}\n', { file: 'min.yaml', cwd: '/x' });
  assert.is(t.run.optims.warmup_start_lr, -1);
  assert.is(t.run.optims.warmup_steps, 0);
  assert.is(t.run.amp, false);
  assert.is(t.run.batch_size_eval, 2);
  assert.is(t.model.norm_lambda, 0);
});

test('unknown keys warn with their line; absolute paths stay as they are', () => {
  const w = collect();
  const c = parseDecodeConfig('prompt: ""\nbogus: 1\nmodel:\n  llama_path: /abs/llama\n  whisper_path: w\n  typo_key: 3\n', { file: 'u.yaml', cwd: '/c', warn: w.warn });
  assert.is(w.msgs.length, 2);
  assert.match(w.msgs[0], /u\.yaml: line 2: unknown key 'bogus'/);
  assert.match(w.msgs[1], /line 6: unknown key 'model\.typo_key'/);
  assert.is(c.model.llama_path, '/abs/llama');
  assert.is(resolvePath('/a/b', '../c/./d'), '/a/c/d');
  assert.is(resolvePath('rel/dir', 'x.json'), 'rel/dir/x.json');
  assert.is(resolvePath('/a', ''), '');
  assert.is(resolvePath('rel', '../../x'), '../x');
  assert.is(resolvePath('/', '../x'), '/x');
  assert.is(resolvePath('/a/b/', 'c'), '/a/b/c');
});

test('YAML syntax errors -> FormatError naming the file and line', () => {
  const bad = 'model:\n  llama_path: a\n  whisper_path: [b,\nrun: 1\n';
  assert.throws(() => parseDecodeConfig(bad, { file: 'broken.yaml' }), (e: unknown) => e instanceof FormatError && /^broken\.yaml: YAML syntax error at line \d+/.test((e as Error).message));
  assert.throws(() => parseYaml('a: 1\na: 2\n', 'dup.yaml'), (e: unknown) => e instanceof FormatError && /dup\.yaml: YAML syntax error at line 2/.test((e as Error).message));
  assert.throws(() => parseYaml('a:\n\t- x\n', 'tab.yaml'), (e: unknown) => e instanceof FormatError && /tab\.yaml/.test((e as Error).message));
});

test('type errors and missing required keys name the key (and line)', () => {
  assert.throws(() => parseDecodeConfig('model:\n  llama_path: a\n  whisper_path: b\ngenerate:\n  num_beams: "4"\n', { file: 'ty.yaml' }),
    (e: unknown) => e instanceof FormatError && /ty\.yaml: line 5: 'generate\.num_beams' must be an integer/.test((e as Error).message));
  assert.throws(() => parseDecodeConfig('model:\n  whisper_path: b\n', { file: 'req.yaml' }), /missing required key 'model\.llama_path'/);
  assert.throws(() => parseDecodeConfig('prompt: x\n', { file: 'nomodel.yaml' }), /missing required section 'model'/);
  assert.throws(() => parseDecodeConfig('- 1\n- 2\n', { file: 'list.yaml' }), /must be a mapping/);
  assert.throws(() => parseDecodeConfig('model:\n  llama_path: a\n  whisper_path: b\n  autocast_dtype: float32\n', { file: 'ac.yaml' }), /autocast_dtype/);
  assert.throws(() => parseTrainConfig(read(join(FIXTURE, 'train_config.yaml')).replace('  seed: 42\n', ''), { file: 'ns.yaml' }), /missing required key 'run\.seed'/);
});

test('--options overrides (LAVIS style): dotted keys, YAML scalar values, new keys, clear errors', () => {
  const text = read(join(FIXTURE, 'decode_config.yaml'));
  const c = parseDecodeConfig(text, {
    file: 'decode_config.yaml', cwd: '/run', warn: () => assert.unreachable(),
    overrides: ['generate.num_beams=3', 'model.lora=false', 'model.ckpt=other.pth', 'prompt="Say: hi"', 'prob_threshold=0.25', 'generate.temperature=1e-1', 'model.weight_mask_path=null'],
  });
  assert.is(c.generate.num_beams, 3);
  assert.is(c.model.lora, false);
  assert.is(c.model.ckpt, '/run/other.pth');
  assert.is(c.prompt, 'Say: hi');
  assert.is(parseDecodeConfig(text, { file: 'd.yaml', overrides: ['prompt=Describe the audio.'] }).prompt, 'Describe the audio.');
  assert.is(c.prob_threshold, 0.25);
  assert.is(c.generate.temperature, 0.1);
  assert.is(c.model.weight_mask_path, null);
  // a value of the wrong type fails like the same value in the file, naming the key
  assert.throws(() => parseDecodeConfig(text, { file: 'd.yaml', overrides: ['generate.num_beams=two'] }), /d\.yaml: --options: 'generate\.num_beams' must be an integer, got "two"/);
  assert.throws(() => parseDecodeConfig(text, { file: 'd.yaml', overrides: ['generate.num_beams'] }), /d\.yaml: --options "generate\.num_beams": expected key\.path=value/);
  assert.throws(() => parseDecodeConfig(text, { file: 'd.yaml', overrides: ['prompt.x=1'] }), /'prompt' is not a mapping/);
  // the train config too; a section absent from the file is created
  const t = parseTrainConfig(read(join(FIXTURE, 'train_config.yaml')), { file: 't.yaml', cwd: FIXTURE, overrides: ['run.batch_size_train=1', 'run.optims.max_epoch=7'] });
  assert.is(t.run.batch_size_train, 1);
  assert.is(t.run.optims.max_epoch, 7);
  // default cwd: the config's folder
  const d = parseDecodeConfig(text, { file: '/cfgs/decode_config.yaml', warn: () => {} });
  assert.is(d.model.ckpt, '/cfgs/salmonn.pth');
  assert.is(d.model.cwd, '/cfgs');
});

test.run();
