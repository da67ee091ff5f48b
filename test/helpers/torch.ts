// The torch cross-checks (torch.load of our checkpoints, a LAVIS-style AdamW loading our optimizer state) need a
// python3 with torch and numpy. They are part of the suite: a missing torch fails them, it never skips them.
// Debian's python3-torch and python3-numpy (.ci/run installs them) live under /usr/bin/python3, which is tried
// first because a python3 earlier on PATH (pyenv, a venv) usually lacks torch. AHAMASK_PYTHON overrides.
import { spawnSync } from 'node:child_process';

let found: string | undefined;

function hasTorch(py: string): boolean {
  const r = spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 120_000 });
  return !r.error && r.status === 0;
}

/** The path of a python with torch and numpy; throws (the test fails) when there is none. */
export function pythonWithTorch(): string {
  if (found) return found;
  const env = process.env.AHAMASK_PYTHON;
  const candidates = env ? [env] : ['/usr/bin/python3', 'python3', 'python'];
  for (const py of candidates) {
    if (hasTorch(py)) return (found = py);
  }
  throw new Error(
    `no python with torch and numpy (tried ${candidates.join(', ')}): the torch cross-checks need them; ` +
      `install Debian's python3-torch and python3-numpy (apt-get install -y python3-torch python3-numpy; .ci/run does) ` +
      `or point AHAMASK_PYTHON at a python that has both`,
  );
}

/** Runs a python script with torch; returns stdout, throws with stderr when it fails. */
export function runTorchPython(script: string, args: string[]): string {
  const py = pythonWithTorch();
  const r = spawnSync(py, ['-c', script, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${py} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  return r.stdout;
}
