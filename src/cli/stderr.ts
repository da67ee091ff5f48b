// Dawn prints two notices from native code straight to file descriptor 2 when it reads the adapter's limits
// (src/dawn/native/Limits.cpp, dawn::WarningLog(), no runtime switch and no logging callback on that path):
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from N to 16 to fit dynamic offset allocation limit.
//   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from N to 16 to fit dynamic offset allocation limit.
// Node cannot redirect its own fd 2, so GPU commands run in a child process whose stderr the parent relays with
// those two lines removed. The child is told whether the real stderr is a terminal (and its width), so progress
// bars still redraw in place. AHAMASK_DEBUG=1 disables the relay (every Dawn message is shown).
import { spawn } from 'node:child_process';

export const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const PREFIX = 'Warning: maxDynamic';

const RELAY_ENV = 'AHAMASK_STDERR_RELAYED';

/** A stream filter: whole lines matching DAWN_LIMIT_WARNING are dropped; everything else passes through at once. */
export class StderrFilter {
  private pending = '';
  constructor(private readonly write: (s: string) => void) {}

  push(chunk: string): void {
    let s = this.pending + chunk;
    this.pending = '';
    let out = '';
    for (;;) {
      const nl = s.indexOf('\n');
      if (nl < 0) break;
      const line = s.slice(0, nl);
      s = s.slice(nl + 1);
      if (!DAWN_LIMIT_WARNING.test(line)) out += `${line}\n`;
    }
    // an unfinished line is held back only while it may still become one of the warnings
    const lastCR = s.lastIndexOf('\r');
    const tail = lastCR >= 0 ? s.slice(lastCR + 1) : s;
    if (tail && (PREFIX.startsWith(tail) || tail.startsWith(PREFIX))) {
      out += s.slice(0, s.length - tail.length);
      this.pending = tail;
    } else out += s;
    if (out) this.write(out);
  }

  end(): void {
    if (this.pending && !DAWN_LIMIT_WARNING.test(this.pending)) this.write(this.pending);
    this.pending = '';
  }
}

/** In the relayed child: adopt the parent's terminal facts for stderr. */
function adoptParentTty(): void {
  if (process.env.AHAMASK_STDERR_TTY === '1') {
    const s = process.stderr as NodeJS.WriteStream & { isTTY: boolean; columns: number };
    s.isTTY = true;
    s.columns = Number(process.env.AHAMASK_STDERR_COLUMNS) || 100;
  }
}

/**
 * Runs this same command line in a child with filtered stderr and resolves to its exit status; resolves null
 * when this process should do the work itself (it is the child, or AHAMASK_DEBUG is set).
 */
export async function relayStderr(): Promise<number | null> {
  if (process.env[RELAY_ENV] === '1') {
    adoptParentTty();
    return null;
  }
  if (process.env.AHAMASK_DEBUG) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, [RELAY_ENV]: '1' };
  if (process.stderr.isTTY) {
    env.AHAMASK_STDERR_TTY = '1';
    env.AHAMASK_STDERR_COLUMNS = String(process.stderr.columns ?? 100);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'pipe'], env });
  const filter = new StderrFilter((s) => process.stderr.write(s));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => filter.push(d));
  // Ctrl-C reaches the whole process group: the child handles it; the parent waits for the child's status.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  const forward = (sig: NodeJS.Signals) => (): void => void child.kill(sig);
  const onTerm = forward('SIGTERM'), onHup = forward('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  return new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      filter.end();
      process.off('SIGINT', ignore);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      const signum: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 };
      resolve(code ?? 128 + (signal ? signum[signal] ?? 1 : 1));
    });
  });
}
