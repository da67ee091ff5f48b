// SALMONN prompt construction (spec §2.8): "<Speech><SpeechHere></Speech> " + instruction.strip() formatted into
// the template, split on <SpeechHere>, each half tokenised separately without special tokens; BOS is prepended as
// an embedding by the model.
import { AhamaskError } from '../errors.js';

export const SPEECH_PLACEHOLDER = '<SpeechHere>';

/** Python str.strip() with no arguments (Unicode whitespace). */
export function pyStrip(s: string): string {
  return s.replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/gu, '');
}

/** Python `template.format(arg)` for templates with positional `{}` / `{0}` fields and `{{` `}}` escapes. */
export function pyFormat(template: string, ...args: string[]): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{(\d*)\}/g, (m, idx: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const i = idx === undefined || idx === '' ? auto++ : Number(idx);
    if (i >= args.length) throw new AhamaskError(`prompt_template ${JSON.stringify(template)} has more fields than arguments`);
    return args[i];
  });
}

/** The full prompt text evaluate.py / cli_inference.py build for an instruction ('' with a mask). */
export function buildPromptText(template: string, instruction: string): string {
  return pyFormat(template, `<Speech>${SPEECH_PLACEHOLDER}</Speech> ${pyStrip(instruction)}`);
}

/** Splits a prompt on <SpeechHere> into (p_before, p_after), as prompt_wrap does. */
export function splitPrompt(prompt: string): [string, string] {
  const parts = prompt.split(SPEECH_PLACEHOLDER);
  if (parts.length < 2) throw new AhamaskError(`prompt has no ${SPEECH_PLACEHOLDER} placeholder: ${JSON.stringify(prompt)}`);
  return [parts[0], parts[1]];
}

export interface TextEncoderLike {
  /** Ids without BOS/EOS (HF tokenizer(text, add_special_tokens=False)). */
  encode(text: string): number[];
}

export interface PromptIds {
  text: string;
  before: number[];
  after: number[];
}

export function promptIds(tok: TextEncoderLike, prompt: string): PromptIds {
  const [b, a] = splitPrompt(prompt);
  return { text: prompt, before: tok.encode(b), after: tok.encode(a) };
}

/** Positions the LLM sees before generating: BOS + p_before + speech tokens + p_after. */
export function promptLength(p: PromptIds, speechTokens: number): number {
  return 1 + p.before.length + speechTokens + p.after.length;
}
