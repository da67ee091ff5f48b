// `ahamask tokenize --tokenizer <dir-or-file> [--json] [--bos] [--eos] "text"`
// `ahamask tokenize --tokenizer <dir-or-file> --decode [--skip-special] [--json] 1 2 3` (ids, also "1,2,3")
import { readFileBytes, readTextFile } from '../node/files.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LlamaTokenizer } from '../models/tokenizer.js';

const USAGE = `usage: ahamask tokenize --tokenizer <dir-or-tokenizer.model> [options] <text | ->

Tokenises text with the LLaMA/Vicuna SentencePiece model the way SALMONN does (HF LlamaTokenizer, transformers
4.28, add_special_tokens=False, '[PAD]' added): prints each piece with its id. '-' reads the text from stdin.

options:
  --tokenizer PATH   a directory holding tokenizer.model (and tokenizer_config.json), or the .model file
  --json             print {"pieces": [...], "ids": [...]} (decode: {"text": ..., "tokens": [...]})
  --bos, --eos       add <s> / </s>
  --no-pad           do not add the [PAD] token
  --decode           the arguments are token ids (space or comma separated): print the decoded text
  --skip-special     with --decode: drop <s>, </s>, <unk>, [PAD] (as SALMONN's batch_decode)
  -h, --help         this text`;

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

function parseArgs(argv: string[]): Args | string {
  const a: Args = { json: false, bos: false, eos: false, pad: true, decode: false, skipSpecial: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--') {
      a.rest.push(...argv.slice(i + 1));
      break;
    }
    if (s === '--tokenizer' || s === '-t') {
      if (i + 1 >= argv.length) return `${s} needs a path`;
      a.tokenizer = argv[++i];
    } else if (s.startsWith('--tokenizer=')) a.tokenizer = s.slice('--tokenizer='.length);
    else if (s === '--json') a.json = true;
    else if (s === '--bos') a.bos = true;
    else if (s === '--eos') a.eos = true;
    else if (s === '--no-pad') a.pad = false;
    else if (s === '--decode') a.decode = true;
    else if (s === '--skip-special') a.skipSpecial = true;
    else if (s.startsWith('-') && s !== '-' && !/^-?\d/.test(s)) return `unknown option ${s}`;
    else a.rest.push(s);
  }
  return a;
}

/** A piece as printed in the table: raw unless it holds whitespace or control characters. */
function show(piece: string): string {
  return /[\s\p{Cc}]/u.test(piece) ? JSON.stringify(piece) : piece;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string' || !args.tokenizer || args.rest.length === 0) {
    console.error(`ahamask tokenize: ${typeof args === 'string' ? args : !args.tokenizer ? '--tokenizer is required' : 'no text given'}\n\n${USAGE}`);
    return 2;
  }
  let modelPath = args.tokenizer;
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
