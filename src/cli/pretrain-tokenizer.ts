// The tokenizer trainer `ahamask pretrain` uses: a SentencePiece BPE tokenizer.model (src/models/sentencepiece-writer.ts).
// TEMPORARY until the demo-data branch (sentencepiece-writer) is merged.
export function trainTokenizer(_texts: string[], _vocabSize: number): Uint8Array {
  throw new Error('tokenizer training needs src/models/sentencepiece-writer.ts (demo-data branch); set data.tokenizer_model');
}
