/** Base class of every error this library throws on purpose: the message names the file, key or offset. */
export class AhamaskError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** A file could not be parsed (checkpoint, config, audio, tokenizer). */
export class FormatError extends AhamaskError {
  constructor(public readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
  }
}
/** A checkpoint lacks keys the model needs. */
export class MissingKeysError extends AhamaskError {
  constructor(public readonly file: string, public readonly keys: string[]) {
    super(`${file}: missing ${keys.length} expected key(s):\n  ${keys.join('\n  ')}`);
  }
}
/** Shapes or lengths do not match what the model expects. */
export class ShapeError extends AhamaskError {}
/** No WebGPU adapter / device problems. */
export class GpuError extends AhamaskError {}
