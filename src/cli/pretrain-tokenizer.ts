// The tokenizer trainer `ahamask pretrain` uses: a SentencePiece BPE tokenizer.model (src/models/sentencepiece-writer.ts).
import { trainBpeModel } from '../models/sentencepiece-writer.js';

export function trainTokenizer(texts: string[], vocabSize: number): Uint8Array {
  return trainBpeModel(texts, { vocabSize, byteFallback: true });
}
