// Named metadata layouts. A kernel's metadata (shapes, strides, offsets, f32 bits; the `prm` storage array,
// see util.ts wgslMeta) is declared once as a list of fields; the layout gives the TypeScript side a writer
// that checks every field is set (`write`) and the WGSL side the word of each field by name (`p`, `at`), so
// no kernel reads `prm[13u]` or writes `meta[11] =` by number. The WGSL text is the same as with literal
// indices (`prm[13]` or `prm[13u]`): the layout only names the words.

/**
 * A field: one word (`'B'`), `n` words (`['lens', 4]`, read as `p('lens', i)`), or named words
 * (`['q', ['off', 'sb', 'sh']]`, read as `p('q.sb')`, written as `q: [off, sb, sh]`).
 */
export type MetaField = string | readonly [string, number] | readonly [string, readonly string[]];

/** Top-level names of a field list (what `write` takes). */
type FieldName<F> = F extends readonly [infer N, unknown] ? N : F;
export type MetaValues<F extends readonly MetaField[]> = { [K in FieldName<F[number]> & string]: number | ArrayLike<number> };

export class MetaLayout<const F extends readonly MetaField[]> {
  /** Words of the fixed part (a runtime-length tail may follow, see `write`). */
  readonly words: number;
  private readonly index = new Map<string, number>();
  private readonly sizes = new Map<string, number>();

  constructor(readonly fields: F) {
    let i = 0;
    for (const f of fields) {
      const [name, n, sub] = typeof f === 'string' ? [f, 1, null] : typeof f[1] === 'number' ? [f[0], f[1], null] : [f[0], f[1].length, f[1]];
      if (this.index.has(name)) throw new Error(`meta layout: field '${name}' declared twice`);
      this.index.set(name, i);
      this.sizes.set(name, n);
      if (sub) sub.forEach((s, j) => this.index.set(`${name}.${s}`, i + j));
      i += n;
    }
    this.words = i;
  }

  /** Word index of a field (or `field.sub`), plus `i`. */
  at(name: string, i = 0): number {
    const w = this.index.get(name);
    if (w === undefined) throw new Error(`meta layout: no field '${name}' (fields: ${[...this.sizes.keys()].join(', ')})`);
    return w + i;
  }

  /** WGSL reading the field: `prm[<index>]`, or `prm[<index>u]` with `u`. */
  p(name: string, i = 0, u = false): string {
    return `prm[${this.at(name, i)}${u ? 'u' : ''}]`;
  }

  /** The metadata words: every field set (arrays of the field's length), then an optional runtime tail. */
  write(values: MetaValues<F>, tail: ArrayLike<number> = []): number[] {
    const out = new Array<number>(this.words + tail.length).fill(0);
    const given = values as Record<string, number | ArrayLike<number>>;
    for (const [name, n] of this.sizes) {
      const v = given[name];
      if (v === undefined) throw new Error(`meta layout: field '${name}' not set`);
      const at = this.index.get(name)!;
      if (typeof v === 'number') {
        if (n !== 1) throw new Error(`meta layout: field '${name}' has ${n} words, got one number`);
        out[at] = v;
      } else {
        if (v.length !== n) throw new Error(`meta layout: field '${name}' has ${n} words, got ${v.length}`);
        for (let j = 0; j < n; j++) out[at + j] = v[j];
      }
    }
    for (const k of Object.keys(given)) if (!this.sizes.has(k)) throw new Error(`meta layout: unknown field '${k}'`);
    for (let j = 0; j < tail.length; j++) out[this.words + j] = tail[j];
    return out;
  }

  /** "0 B, 1 H, 6 q (off, sb, ...)": the layout in words, for comments and error messages. */
  describe(): string {
    return this.fields
      .map((f) => {
        const name = typeof f === 'string' ? f : f[0];
        const sub = typeof f !== 'string' && typeof f[1] !== 'number' ? ` (${(f[1] as readonly string[]).join(', ')})` : typeof f === 'string' ? '' : ` [${f[1]}]`;
        return `${this.index.get(name)} ${name}${sub}`;
      })
      .join(', ');
  }
}

/** A layout from its field list (names checked at type level for `write`). */
export function metaLayout<const F extends readonly MetaField[]>(fields: F): MetaLayout<F> {
  return new MetaLayout(fields);
}
