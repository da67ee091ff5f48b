// `ahamask tokenize --tokenizer <dir-or-file> [--json] [--bos] [--eos] "text"`
// `ahamask tokenize --tokenizer <dir-or-file> --decode [--skip-special] [--json] 1 2 3` (ids, also "1,2,3")
import { readFileBytes, readTextFile } from '../node/files.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LlamaTokenizer } from '../models/tokenizer.js';
import { runCommand, UsageError, type CommandSpec, type FlagValues } from './args.js';

export const spec: CommandSpec = {
  name: 'tokenize',
  args: '<text | ->',
  summary: 'SentencePiece pieces and ids of a text',
  description: `Tokenises text with the LLaMA/Vicuna SentencePiece model the way SALMONN does (HF LlamaTokenizer, transformers
4.28, add_special_tokens=False, '[PAD]' added): prints each piece with its id. '-' reads the text from stdin.`,
  flags: [
    { name: 'tokenizer', aliases: ['-t'], value: 'PATH', help: 'a directory holding tokenizer.model (and tokenizer_config.json), or the .model file' },
    { name: 'json', help: 'print {"pieces": [...], "ids": [...]} (decode: {"text": ..., "tokens": [...]})' },
    { name: 'bos', help: 'add <s>' },
    { name: 'eos', help: 'add </s>' },
    { name: 'no-pad', help: 'do not add the [PAD] token' },
    { name: 'decode', help: 'the arguments are token ids (space or comma separated): print the decoded text' },
    { name: 'skip-special', help: "with --decode: drop <s>, </s>, <unk>, [PAD] (as SALMONN's batch_decode)" },
  ],
};

interface Args {
  tokenizer?: string;
  json: boolean;
  bos: boolean;
  eos: boolean;
  pad: boolean;
  decode: boolean;
  skipSpecial: boolean;
  rest: string[];
}

function tokenizeArgs(f: FlagValues, rest: string[]): Args {
  if (!f.tokenizer) throw new UsageError('--tokenizer is required');
  if (!rest.length) throw new UsageError('no text given');
  return {
    tokenizer: f.tokenizer as string, json: !!f.json, bos: !!f.bos, eos: !!f.eos, pad: !f.noPad, decode: !!f.decode, skipSpecial: !!f.skipSpecial, rest,
  };
}

/** A piece as printed in the table: raw unless it holds whitespace or control characters. */
function show(piece: string): string {
  return /[\s\p{Cc}]/u.test(piece) ? JSON.stringify(piece) : piece;
}

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags, rest }) => tokenize(tokenizeArgs(flags, rest)));
}

async function tokenize(args: Args): Promise<number> {
  let modelPath = args.tokenizer!;
  if (existsSync(modelPath) && statSync(modelPath).isDirectory()) modelPath = join(modelPath, 'tokenizer.model');
  if (!existsSync(modelPath)) {
    console.error(`ahamask tokenize: ${modelPath}: no such file`);
    return 1;
  }
  let cleanUp = false;
  const configPath = join(dirname(modelPath), 'tokenizer_config.json');
  if (existsSync(configPath)) {
    try {
      const cfg = JSON.parse(await readTextFile(configPath)) as { clean_up_tokenization_spaces?: unknown };
      if (typeof cfg.clean_up_tokenization_spaces === 'boolean') cleanUp = cfg.clean_up_tokenization_spaces;
    } catch {
      // tokenizer_config.json only tunes decode; a broken one is ignored.
    }
  }
  const tok = LlamaTokenizer.fromBytes(await readFileBytes(modelPath), {
    file: modelPath,
    padToken: args.pad ? '[PAD]' : null,
    cleanUpTokenizationSpaces: cleanUp,
  });

  if (args.decode) {
    const ids: number[] = [];
    for (const s of args.rest.join(' ').split(/[\s,[\]]+/).filter(Boolean)) {
      const n = Number(s);
      if (!Number.isInteger(n)) {
        console.error(`ahamask tokenize: '${s}' is not a token id`);
        return 2;
      }
      ids.push(n);
    }
    const text = tok.decode(ids, { skipSpecialTokens: args.skipSpecial });
    if (args.json) console.log(JSON.stringify({ text, tokens: tok.convertIdsToTokens(ids) }));
    else console.log(text);
    return 0;
  }

  const text = args.rest.length === 1 && args.rest[0] === '-' ? readFileSync(0, 'utf8') : args.rest.join(' ');
  const { pieces, ids } = tok.encodeWithPieces(text, { bos: args.bos, eos: args.eos });
  if (args.json) {
    console.log(JSON.stringify({ pieces, ids }));
    return 0;
  }
  const w = String(Math.max(0, ...ids)).length;
  const lines = pieces.map((p, i) => `${String(ids[i]).padStart(w)}  ${show(p)}`);
  lines.push(`${ids.length} token${ids.length === 1 ? '' : 's'} (vocab ${tok.vocabSize}, len ${tok.length})`);
  console.log(lines.join('\n'));
  return 0;
}
