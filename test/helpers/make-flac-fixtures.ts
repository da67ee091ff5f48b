// Writes the committed FLAC fixtures of test/shared/flac (run once: `node --import tsx test/helpers/make-flac-fixtures.ts`;
// needs Debian's `flac` and `sox`). Each .flac has its expected PCM as a .wav beside it (except the 4-bit one, which
// the decoder refuses). Signals are deterministic (testSignal), so re-running reproduces the same PCM.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED } from './paths.js';
import { pcmWav, rawPcm, testSignal, withRateCode0 } from './flac.js';

const OUT = join(SHARED, 'flac');
const TMP = mkdtempSync(join(tmpdir(), 'flac-fixtures-'));

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function encode(name: string, samples: number[][], bits: number, rate: number, how: { flac?: string[]; sox?: string[]; wavIn?: Buffer }): Uint8Array {
  const raw = join(TMP, `${name}.raw`), out = join(TMP, `${name}.flac`);
  writeFileSync(raw, rawPcm(samples, bits));
  if (how.sox) {
    run('sox', ['-t', 'raw', '-r', String(rate), '-e', 'signed', '-b', String(bits), '-c', String(samples.length), raw, ...how.sox, out]);
  } else if (how.wavIn) {
    const wav = join(TMP, `${name}.wav`);
    writeFileSync(wav, how.wavIn);
    run('flac', ['-s', '-f', '--no-padding', ...how.flac!, '-o', out, wav]);
  } else {
    run('flac', ['-s', '-f', '--no-padding', '--force-raw-format', '--endian=little', '--sign=signed', `--channels=${samples.length}`,
      `--bps=${bits}`, `--sample-rate=${rate}`, ...how.flac!, '-o', out, raw]);
  }
  return new Uint8Array(readFileSync(out));
}

function save(name: string, flac: Uint8Array, wav: Buffer | null): void {
  writeFileSync(join(OUT, `${name}.flac`), flac);
  if (wav) writeFileSync(join(OUT, `${name}.wav`), wav);
  console.log(name, flac.length, wav?.length ?? '-');
}

let s = testSignal(10 * 1152 + 1, 1, 16, 501, { silentTail: 400 });
save('flac_16k_mono16_b1152_tail1_silent', encode('a', s, 16, 16000, { flac: ['-5', '-b', '1152'] }), pcmWav(s, 16, 16000));
s = testSignal(4608 + 16, 2, 24, 502);
save('flac_16k_stereo24_b4608_tail16', encode('b', s, 24, 16000, { flac: ['-8', '-b', '4608'] }), pcmWav(s, 24, 16000));
s = testSignal(8 * 1152 + 5, 2, 8, 503, { silentTail: 60 });
save('sox_16k_stereo8_C0_tail5_silent', encode('c', s, 8, 16000, { sox: ['-C', '0'] }), pcmWav(s, 8, 16000));
s = testSignal(2 * 4096 + 3, 1, 16, 504);
save('rate0_16k_mono16', withRateCode0(encode('d', s, 16, 16000, { flac: ['-5', '-b', '4096'] })), pcmWav(s, 16, 16000));
s = testSignal(2 * 2304 + 7, 1, 12, 505, { silentTail: 7 });
save('flac_16k_mono12_b2304_tail7_silent', encode('e', s, 12, 16000, { flac: ['-5', '-b', '2304'], wavIn: pcmWav(s, 16, 16000, 12) }), pcmWav(s, 16, 16000, 12));
s = testSignal(4608 + 9, 2, 20, 506);
save('flac_44k_stereo20_tail9', encode('f', s, 20, 44100, { flac: ['-8', '-b', '4608'], wavIn: pcmWav(s, 24, 44100, 20) }), pcmWav(s, 24, 44100, 20));
s = testSignal(2000, 1, 4, 507);
save('bps4_mono_lax', encode('g', s, 4, 16000, { flac: ['--lax', '-5'], wavIn: pcmWav(s, 16, 16000, 4) }), null);
rmSync(TMP, { recursive: true, force: true });
