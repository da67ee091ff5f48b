// The tokenizer trainer `ahamask pretrain` uses: a SentencePiece BPE tokenizer.model (src/models/sentencepiece-writer.ts)
// over the demo's fixed corpus (demoTokenizerTexts: every instruction and every possible target), so the vocabulary
// does not depend on the data seed. The texts pretrain collects are only checked to round-trip.
import { AhamaskError } from '../errors.js';
import { demoTokenizerTexts } from '../demo/tasks.js';
import { LlamaTokenizer } from '../models/tokenizer.js';
import { trainBpeModel } from '../models/sentencepiece-writer.js';

export function trainTokenizer(texts: string[], vocabSize: number): Uint8Array {
  const bytes = trainBpeModel(demoTokenizerTexts(), { vocabSize, byteFallback: true });
  const tok = LlamaTokenizer.fromBytes(bytes, { file: 'tokenizer.model' });
  for (const t of texts) {
    if (t !== t.trim()) continue; // template pieces: SentencePiece does not keep edge spaces
    const back = tok.decode(tok.encode(t), { skipSpecialTokens: true });
    if (back !== t) throw new AhamaskError(`the demo tokenizer does not round-trip ${JSON.stringify(t)} (got ${JSON.stringify(back)})`);
  }
  return bytes;
}
