// The demo tasks (src/demo/tasks.ts): targets, answer normalisation, WER and scoring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEMO_TASKS, MASK_PROMPT, SPEECH_PROMPT, TEMPLATE_PIECES, demoTask, demoTokenizerTexts, normalizeAnswer, scoreTask,
  wordErrorRate, type DemoClip,
} from '../../src/demo/tasks.js';

const clip: DemoClip = { id: 's1_00000', path: 'd/audio/s1_00000.wav', digits: [3, 1, 4], gender: 'male', voice: 'en+m3', beeps: 2, tone: 'rising' };

test('task names, metrics and targets are the documented ones', () => {
  assert.equal(DEMO_TASKS.map((t) => [t.name, t.metric]), [
    ['asr', 'wer'], ['gender', 'accuracy'], ['beeps', 'accuracy'], ['tone', 'accuracy'], ['asr_gender', 'wer'], ['gender_asr', 'wer'],
  ]);
  const targets = Object.fromEntries(DEMO_TASKS.map((t) => [t.name, t.target(clip)]));
  assert.equal(targets, {
    asr: 'three one four', gender: 'male', beeps: 'two beeps', tone: 'rising',
    asr_gender: 'three one four, male', gender_asr: 'male, three one four',
  });
  const one = { ...clip, digits: [0, 9], gender: 'female' as const, beeps: 1, tone: 'falling' as const };
  assert.is(demoTask('beeps')!.target(one), 'one beep');
  assert.is(demoTask('beeps')!.target({ ...one, beeps: 3 }), 'three beeps');
  assert.is(demoTask('gender_asr')!.target(one), 'female, zero nine');
  assert.is(demoTask('tone')!.target(one), 'falling');
  assert.is(demoTask('nope'), undefined);
});

test('instructions: SALMONN style, 2-3 training paraphrases, a held-out test instruction', () => {
  for (const t of DEMO_TASKS) {
    assert.ok(t.instructions.length >= 2 && t.instructions.length <= 3, t.name);
    for (const s of [...t.instructions, t.testInstruction]) {
      assert.ok(s.startsWith(SPEECH_PROMPT) && s.length > SPEECH_PROMPT.length, s);
      assert.is(s.split('<SpeechHere>').length, 2, s);
    }
    assert.not.ok(t.instructions.includes(t.testInstruction), t.name);
  }
  const all = DEMO_TASKS.flatMap((t) => [...t.instructions, t.testInstruction]);
  assert.is(new Set(all).size, all.length, 'no instruction is shared between tasks');
  assert.is(MASK_PROMPT, '<Speech><SpeechHere></Speech> ');
});

test('normalizeAnswer: lowercase, trim, collapse spaces, strip final punctuation', () => {
  assert.is(normalizeAnswer('  Three  One\tFOUR. '), 'three one four');
  assert.is(normalizeAnswer('Male!'), 'male');
  assert.is(normalizeAnswer('two beeps?!'), 'two beeps');
  assert.is(normalizeAnswer('three, male'), 'three, male');
  assert.is(normalizeAnswer(''), '');
  assert.is(normalizeAnswer(' . '), '');
});

test('wordErrorRate: word-level Levenshtein over reference words', () => {
  assert.is(wordErrorRate('three one four', 'three one four'), 0);
  assert.is(wordErrorRate('Three one four.', 'three one four'), 0);
  assert.is(wordErrorRate('three one', 'three one four'), 1 / 3); // deletion
  assert.is(wordErrorRate('three one four four', 'three one four'), 1 / 3); // insertion
  assert.is(wordErrorRate('three two four', 'three one four'), 1 / 3); // substitution
  assert.is(wordErrorRate('four one three', 'three one four'), 2 / 3);
  assert.is(wordErrorRate('', 'three one four'), 1);
  assert.is(wordErrorRate('a b c d e f', 'x'), 6); // WER is not capped at 1
  assert.is(wordErrorRate('', ''), 0);
  assert.is(wordErrorRate('x', ''), 1);
  // Composite answers: the comma separates words, so a wrong gender is one error in four words.
  assert.is(wordErrorRate('three one four, female', 'three one four, male'), 1 / 4);
  assert.is(wordErrorRate('three one four female', 'three one four, male'), 1 / 4);
  assert.is(wordErrorRate('male, three one four', 'three one four, male'), 2 / 4);
});

test('scoreTask: accuracy on normalised strings; corpus WER plus exact-match accuracy', () => {
  assert.equal(scoreTask({ metric: 'accuracy' }, ['Male.', 'female', 'male'], ['male', 'male', 'male']), { accuracy: 2 / 3 });
  const s = scoreTask({ metric: 'wer' }, ['three one four', 'one two', 'five six seven eight.'], ['three one four', 'one two three', 'five six seven eight']);
  assert.ok('wer' in s);
  assert.is((s as { wer: number }).wer, 1 / 10); // one deletion in 3 + 3 + 4 reference words
  assert.is(s.accuracy, 2 / 3);
  assert.equal(scoreTask({ metric: 'wer' }, [], []), { wer: 0, accuracy: 0 });
  assert.throws(() => scoreTask({ metric: 'accuracy' }, ['a'], []), /1 outputs for 0 references/);
});

test('demoTokenizerTexts covers every instruction, target word and template piece', () => {
  const texts = demoTokenizerTexts();
  assert.is(new Set(texts).size, texts.length);
  for (const t of DEMO_TASKS) for (const s of [...t.instructions, t.testInstruction]) assert.ok(texts.includes(s), s);
  for (const p of TEMPLATE_PIECES) assert.ok(texts.includes(p), p);
  const words = new Set(texts.flatMap((t) => t.split(/[\s,]+/)));
  for (const w of ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'male', 'female', 'beep', 'beeps', 'rising', 'falling'])
    assert.ok(words.has(w), w);
  assert.ok(texts.includes('nine zero, female') && texts.includes('male, four four'));
});

test.run();
