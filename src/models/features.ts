// The two audio front-ends of SALMONN, on the CPU:
//  * Whisper log-mel (spec §2.2): transformers 4.28 WhisperFeatureExtractor numpy path, 80 x 3000.
//  * BEATs Kaldi fbank (spec §2.3): torchaudio.compliance.kaldi.fbank(128 bins) in float64, normalised.
import { FFT } from './fft.js';

// ---------------------------------------------------------------------------------------------------------------
// Whisper

export const WHISPER_N_FFT = 400;
export const WHISPER_HOP = 160;
export const WHISPER_N_MELS = 80;
export const WHISPER_N_SAMPLES = 480000;
export const WHISPER_N_FRAMES = 3000;
const WHISPER_N_BINS = WHISPER_N_FFT / 2 + 1; // 201
export const WHISPER_SAMPLING_RATE = 16000;

/**
 * The Whisper input window as HF's WhisperFeatureExtractor derives it from preprocessor_config.json:
 * n_samples = chunk_length * sampling_rate, nb_max_frames = n_samples // hop_length (30 s: 480000 / 3000).
 */
export interface WhisperWindow {
  chunkLength: number;
  nSamples: number;
  nbMaxFrames: number;
}
export const WHISPER_WINDOW_30S: WhisperWindow = { chunkLength: 30, nSamples: WHISPER_N_SAMPLES, nbMaxFrames: WHISPER_N_FRAMES };

/** The window of a chunk length in seconds (HF: chunk_length * 16000 samples, // 160 frames). */
export function whisperWindow(chunkLength: number): WhisperWindow {
  const nSamples = chunkLength * WHISPER_SAMPLING_RATE;
  return { chunkLength, nSamples, nbMaxFrames: Math.floor(nSamples / WHISPER_HOP) };
}

/**
 * Slaney mel filterbank (80 x 201, row-major, float32) exactly as HF 4.28 `get_mel_filters(16000, 400, 80)`
 * (= librosa.filters.mel): float64 ramps stored in float32, then scaled in place by the float64 Slaney norm.
 */
export function whisperMelFilters(sr = 16000, nFft = WHISPER_N_FFT, nMels = WHISPER_N_MELS): Float32Array {
  const nBins = Math.floor(nFft / 2) + 1;
  const fftfreqs = new Float64Array(nBins);
  const val = 1.0 / (nFft * (1.0 / sr)); // np.fft.rfftfreq(n, d=1/sr)
  for (let k = 0; k < nBins; k++) fftfreqs[k] = k * val;
  const maxMel = 45.245640471924965;
  const num = nMels + 2;
  const step = maxMel / (num - 1); // np.linspace: arange * step, last = stop
  const fSp = 200.0 / 3;
  const minLogHz = 1000.0;
  const minLogMel = (minLogHz - 0.0) / fSp;
  const logstep = Math.log(6.4) / 27.0;
  const melF = new Float64Array(num);
  for (let i = 0; i < num; i++) {
    const m = i === num - 1 ? maxMel : i * step;
    melF[i] = m >= minLogMel ? minLogHz * Math.exp(logstep * (m - minLogMel)) : 0.0 + fSp * m;
  }
  const W = new Float32Array(nMels * nBins);
  for (let i = 0; i < nMels; i++) {
    const fd0 = melF[i + 1] - melF[i], fd1 = melF[i + 2] - melF[i + 1];
    const enorm = 2.0 / (melF[i + 2] - melF[i]);
    for (let k = 0; k < nBins; k++) {
      const lower = -(melF[i] - fftfreqs[k]) / fd0;
      const upper = (melF[i + 2] - fftfreqs[k]) / fd1;
      const w = Math.fround(Math.max(0, Math.min(lower, upper)));
      W[i * nBins + k] = w * enorm;
    }
  }
  return W;
}

/** Non-zero column range [start, end) of each row of a row-major (rows x cols) matrix. */
function rowSupport(W: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const r = new Int32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    let a = 0, b = cols;
    while (a < cols && W[i * cols + a] === 0) a++;
    while (b > a && W[i * cols + b - 1] === 0) b--;
    r[2 * i] = a; r[2 * i + 1] = b;
  }
  return r;
}

let whisperCache: { W: Float32Array; support: Int32Array; window: Float64Array; fft: FFT } | undefined;
function whisperConsts() {
  if (!whisperCache) {
    const W = whisperMelFilters();
    const window = new Float64Array(WHISPER_N_FFT);
    // np.hanning(401)[:-1]: 0.5 - 0.5 cos(2πn/400) (numpy: 0.5 + 0.5 cos(π m/400), m = -400, -398, ... ).
    for (let n = 0; n < WHISPER_N_FFT; n++) window[n] = 0.5 + 0.5 * Math.cos((Math.PI * (2 * n - WHISPER_N_FFT)) / WHISPER_N_FFT);
    whisperCache = { W, support: rowSupport(W, WHISPER_N_MELS, WHISPER_N_BINS), window, fft: new FFT(WHISPER_N_FFT) };
  }
  return whisperCache;
}

/**
 * numpy `np.pad(a, (left, right), mode="reflect")` including its iterative behaviour when a pad is longer than
 * the array can mirror in one go (HF `fram_wave` pads the first frame's 200 samples by 200).
 */
export function npPadReflect(a: ArrayLike<number>, left: number, right: number): Float64Array {
  const n = a.length;
  const out = new Float64Array(left + n + right);
  for (let i = 0; i < n; i++) out[left + i] = a[i];
  if (n === 1) { out.fill(a[0], 0, left); out.fill(a[0], left + n); return out; }
  let lo = left, hi = left + n; // current valid region [lo, hi)
  let lp = left, rp = right;
  while (lp > 0 || rp > 0) {
    const len = hi - lo;
    const period = Math.floor((len - 1) / (n - 1)) * (n - 1) + 1 - 1;
    if (lp > 0) {
      const chunk = Math.min(period, lp);
      for (let k = 0; k < chunk; k++) out[lo - 1 - k] = out[lo + 1 + k];
      lo -= chunk; lp -= chunk;
    }
    if (rp > 0) {
      const chunk = Math.min(period, rp);
      for (let k = 0; k < chunk; k++) out[hi + k] = out[hi - 2 - k];
      hi += chunk; rp -= chunk;
    }
  }
  return out;
}

/**
 * Whisper input features (80 x 3000, row-major mel-major, float32) of a 16 kHz waveform, as
 * `WhisperFeatureExtractor(audio, sampling_rate=16000)["input_features"][0]` in transformers 4.28:
 * cast to float32, pad/truncate to 480000, HF fram_wave (centred, numpy reflect), periodic Hann 400, FFT in
 * float64 stored as complex64, |X|² in float32, Slaney mel, log10(max(·,1e-10)), max−8 clamp, (x+4)/4,
 * last frame dropped.
 */
export function whisperLogMel(wav: ArrayLike<number>, win: WhisperWindow = WHISPER_WINDOW_30S): Float32Array {
  const { W, support, window, fft } = whisperConsts();
  const N = win.nSamples, hop = WHISPER_HOP, half = WHISPER_N_FFT / 2, nFft = WHISPER_N_FFT;
  const x = new Float32Array(N);
  const m = Math.min(wav.length, N);
  for (let i = 0; i < m; i++) x[i] = wav[i];
  const T = win.nbMaxFrames; // frames 0..T-1 (frame T, centred at N, is dropped)
  const nb = WHISPER_N_BINS;
  const re = new Float64Array(nFft), im = new Float64Array(nFft);
  const P = new Float32Array(nb);
  const L = new Float32Array(WHISPER_N_MELS * T);
  let gmax = -Infinity;
  for (let t = 0; t < T; t++) {
    const c = t * hop;
    let frame: ArrayLike<number>;
    let off = 0;
    if (c <= half) {
      frame = npPadReflect(x.subarray(0, c + half), half - c, 0);
    } else if (c >= N - half) {
      frame = npPadReflect(x.subarray(c - half, N), 0, c - N + half);
    } else {
      frame = x; off = c - half;
    }
    for (let n = 0; n < nFft; n++) re[n] = frame[off + n] * window[n];
    im.fill(0);
    fft.forward(re, im);
    for (let k = 0; k < nb; k++) {
      const a = Math.fround(re[k]), b = Math.fround(im[k]);
      const mag = Math.fround(Math.hypot(a, b));
      P[k] = mag * mag;
    }
    for (let i = 0; i < WHISPER_N_MELS; i++) {
      let s = 0;
      const row = i * nb;
      for (let k = support[2 * i]; k < support[2 * i + 1]; k++) s += W[row + k] * P[k];
      const v = Math.fround(Math.log10(Math.max(Math.fround(s), 1e-10)));
      L[i * T + t] = v;
      if (v > gmax) gmax = v;
    }
  }
  const floor = Math.fround(gmax - 8.0);
  for (let i = 0; i < L.length; i++) L[i] = (Math.max(L[i], floor) + 4.0) / 4.0;
  return L;
}

// ---------------------------------------------------------------------------------------------------------------
// BEATs (Kaldi fbank)

export const FBANK_MEAN = 15.41663;
export const FBANK_STD = 6.55582;
export const KALDI_FRAME_LENGTH = 400; // 25 ms at 16 kHz
export const KALDI_FRAME_SHIFT = 160; // 10 ms
export const KALDI_PADDED = 512;
export const KALDI_N_MELS = 128;
const KALDI_N_BINS = KALDI_PADDED / 2 + 1; // 257
const FLOAT32_EPS = 1.1920928955078125e-7;

const f32 = Math.fround;

/**
 * torchaudio `kaldi.get_mel_banks(128, 512, 16000, low_freq=20, high_freq=0→8000, vtln_warp=1)` padded with the
 * zero Nyquist column: (128 x 257) row-major. Computed with torch's float32 arithmetic (bin·Δ, mel scale of the
 * FFT bin frequencies, slopes), Δ and mel(20), mel(8000) in float64 then cast.
 */
export function kaldiMelBanks(numBins = KALDI_N_MELS, paddedWindow = KALDI_PADDED, sampleFreq = 16000,
  lowFreq = 20, highFreq = 0): Float32Array {
  const numFftBins = paddedWindow / 2;
  const nyquist = 0.5 * sampleFreq;
  if (highFreq <= 0) highFreq += nyquist;
  const fftBinWidth = sampleFreq / paddedWindow;
  const melScalar = (f: number) => 1127.0 * Math.log(1.0 + f / 700.0);
  const melLow = melScalar(lowFreq), melHigh = melScalar(highFreq);
  const delta = f32((melHigh - melLow) / (numBins + 1));
  const melLowF = f32(melLow);
  const mel = new Float32Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) {
    const fr = f32(fftBinWidth * k);
    mel[k] = f32(1127.0 * f32(Math.log(f32(1.0 + f32(fr / 700.0)))));
  }
  const cols = numFftBins + 1;
  const out = new Float32Array(numBins * cols);
  for (let b = 0; b < numBins; b++) {
    const left = f32(melLowF + f32(b * delta));
    const center = f32(melLowF + f32((b + 1) * delta));
    const right = f32(melLowF + f32((b + 2) * delta));
    const dl = f32(center - left), dr = f32(right - center);
    for (let k = 0; k < numFftBins; k++) {
      const up = f32(f32(mel[k] - left) / dl);
      const down = f32(f32(right - mel[k]) / dr);
      out[b * cols + k] = Math.max(0, Math.min(up, down));
    }
  }
  return out;
}

let kaldiCache: { banks: Float32Array; support: Int32Array; window: Float64Array; fft: FFT } | undefined;
function kaldiConsts() {
  if (!kaldiCache) {
    const banks = kaldiMelBanks();
    const window = new Float64Array(KALDI_FRAME_LENGTH);
    // Povey: torch.hann_window(400, periodic=False, float64).pow(0.85); hann = 0.5 - 0.5·cos(n·2π/399)
    const step = (2 * Math.PI) / (KALDI_FRAME_LENGTH - 1);
    for (let n = 0; n < KALDI_FRAME_LENGTH; n++) window[n] = Math.pow(0.5 + -0.5 * Math.cos(n * step), 0.85);
    kaldiCache = { banks, support: rowSupport(banks, KALDI_N_MELS, KALDI_N_BINS), window, fft: new FFT(KALDI_PADDED) };
  }
  return kaldiCache;
}

/** Number of Kaldi frames with snip_edges=True: 1 + ⌊(N − 400)/160⌋, 0 when N < 400. */
export function kaldiNumFrames(numSamples: number): number {
  return numSamples < KALDI_FRAME_LENGTH ? 0 : 1 + Math.floor((numSamples - KALDI_FRAME_LENGTH) / KALDI_FRAME_SHIFT);
}

/**
 * torchaudio `kaldi.fbank(waveform, num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)`
 * with all other defaults (dither 0, DC removal, pre-emphasis 0.97, Povey, 512-point, power, log with float32
 * eps), computed in float64 on `waveform` as given (no ×32768 here). Returns (T x 128) row-major float64.
 */
export function kaldiFbank(waveform: ArrayLike<number>): { data: Float64Array; frames: number } {
  const { banks, support, window, fft } = kaldiConsts();
  const T = kaldiNumFrames(waveform.length);
  const out = new Float64Array(T * KALDI_N_MELS);
  const fl = KALDI_FRAME_LENGTH;
  const s = new Float64Array(fl);
  const re = new Float64Array(KALDI_PADDED), im = new Float64Array(KALDI_PADDED);
  const P = new Float64Array(KALDI_N_BINS);
  for (let t = 0; t < T; t++) {
    const o = t * KALDI_FRAME_SHIFT;
    let sum = 0;
    for (let n = 0; n < fl; n++) { s[n] = waveform[o + n]; sum += s[n]; }
    const mean = sum / fl;
    for (let n = 0; n < fl; n++) s[n] -= mean;
    // pre-emphasis with replicate padding, then window, then zero-pad to 512
    re[0] = (s[0] - 0.97 * s[0]) * window[0];
    for (let n = 1; n < fl; n++) re[n] = (s[n] - 0.97 * s[n - 1]) * window[n];
    re.fill(0, fl);
    im.fill(0);
    fft.forward(re, im);
    for (let k = 0; k < KALDI_N_BINS; k++) {
      const mag = Math.hypot(re[k], im[k]);
      P[k] = mag * mag;
    }
    const row = t * KALDI_N_MELS;
    for (let b = 0; b < KALDI_N_MELS; b++) {
      let e = 0;
      const bo = b * KALDI_N_BINS;
      for (let k = support[2 * b]; k < support[2 * b + 1]; k++) e += P[k] * banks[bo + k];
      out[row + b] = Math.log(Math.max(e, FLOAT32_EPS));
    }
  }
  return { data: out, frames: T };
}

/**
 * BEATs.preprocess for one waveform (float64, 16 kHz): fbank(waveform·2^15) normalised as
 * (x − 15.41663)/(2·6.55582), cast to float32. Returns (T x 128) row-major.
 */
export function beatsFbank(wav: ArrayLike<number>): { data: Float32Array; frames: number } {
  const scaled = new Float64Array(wav.length);
  for (let i = 0; i < wav.length; i++) scaled[i] = wav[i] * 32768;
  const { data, frames } = kaldiFbank(scaled);
  const out = new Float32Array(data.length);
  const denom = 2 * FBANK_STD;
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - FBANK_MEAN) / denom;
  return { data: out, frames };
}

/**
 * The training-batch form (spec §2.1 collater + §2.3): every waveform is right-padded with zeros to the longest
 * one BEFORE the fbank, so all items have the same frame count. Returns (B x T x 128) row-major float32 and the
 * unpadded sample lengths (for the padding mask `n >= len_b`).
 */
export function beatsFbankBatch(wavs: ArrayLike<number>[]): { data: Float32Array; batch: number; frames: number; lengths: number[] } {
  const lengths = wavs.map((w) => w.length);
  const maxLen = Math.max(0, ...lengths);
  const frames = kaldiNumFrames(maxLen);
  const data = new Float32Array(wavs.length * frames * KALDI_N_MELS);
  wavs.forEach((w, b) => {
    const padded = new Float64Array(maxLen);
    for (let i = 0; i < w.length; i++) padded[i] = w[i];
    data.set(beatsFbank(padded).data, b * frames * KALDI_N_MELS);
  });
  return { data, batch: wavs.length, frames, lengths };
}

/** Whisper features for a batch: (B x 80 x frames) row-major float32 (each item padded to the window independently). */
export function whisperLogMelBatch(wavs: ArrayLike<number>[], win: WhisperWindow = WHISPER_WINDOW_30S): Float32Array {
  const per = WHISPER_N_MELS * win.nbMaxFrames;
  const out = new Float32Array(wavs.length * per);
  wavs.forEach((w, b) => out.set(whisperLogMel(w, win), b * per));
  return out;
}
