// Terminal output shared by the commands: a progress bar that other lines never land inside, byte formatting.

/** Streams whose bar is on screen: any other line written through `clearLine()` first erases it. */
const live = new Set<ProgressBar>();

/**
 * A one-line progress bar on stderr (redrawn in place on a TTY, a few plain lines otherwise). Before printing any
 * other line while a bar may be drawn, call `printLine()` (or `ProgressBar.clearAll()`): the bar is erased, the
 * line printed, and the bar redrawn below it on its next update.
 */
export class ProgressBar {
  private last = -1;
  private lastTime = 0;
  private drawn = '';
  constructor(readonly label: string, readonly stream: NodeJS.WriteStream = process.stderr) {}

  get isTTY(): boolean {
    return !!this.stream.isTTY;
  }

  private width(): number {
    return Math.max(40, Math.min(100, (this.stream.columns ?? 101) - 1));
  }

  update(done: number, total: number, note = ''): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const pct = Math.floor(frac * 100);
    const now = Date.now();
    if (this.isTTY) {
      if (pct === this.last && now - this.lastTime < 200) return;
      const w = 30, fill = Math.round(frac * w);
      this.drawn = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${String(pct).padStart(3)}% ${note}`.slice(0, this.width());
      this.stream.write(`\r${this.drawn.padEnd(this.width())}`);
      live.add(this);
      this.last = pct;
      this.lastTime = now;
      return;
    }
    const bucket = Math.floor(pct / 25);
    if (bucket === this.last) return;
    this.last = bucket;
    this.stream.write(`${this.label}: ${pct}% ${note}\n`);
  }

  /** Erases the bar (TTY); the next update() draws it again. */
  clear(): void {
    if (!live.has(this)) return;
    this.stream.write(`\r${' '.repeat(this.width())}\r`);
    live.delete(this);
    this.lastTime = 0;
    this.last = -1;
  }

  done(note = ''): void {
    live.delete(this);
    if (this.isTTY) this.stream.write(`\r${`${this.label} [${'#'.repeat(30)}] 100% ${note}`.slice(0, this.width()).padEnd(this.width())}\n`);
    else this.stream.write(`${this.label}: done ${note}\n`);
  }

  /** Erases every bar on screen. */
  static clearAll(): void {
    for (const b of [...live]) b.clear();
  }
}

/** Prints a line on stderr (default) or stdout, erasing any progress bar first. */
export function printLine(text: string, stream: NodeJS.WriteStream = process.stderr): void {
  ProgressBar.clearAll();
  stream.write(`${text}\n`);
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}
