// The end-of-training figure: the mask as a layers x heads heatmap of the logits (green = on, logit >= 0; red =
// off; the unused FFN slot in grey) and, when a history is given, the loss and heads-on curves over the steps.

export interface HeatmapHistory {
  step: number[];
  loss: number[];
  headsOn: number[];
}

/** Logit range the colour scale spans (|logit| beyond it saturates). */
const SCALE = 8;

const esc = (x: string): string => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function color(logit: number): string {
  const t = Math.min(1, Math.abs(logit) / SCALE);
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * (0.2 + 0.8 * t));
  return logit >= 0 ? `rgb(${mix(230, 20)},${mix(245, 140)},${mix(230, 60)})` : `rgb(${mix(250, 200)},${mix(230, 40)},${mix(230, 35)})`;
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

function polyline(xs: number[], ys: number[], x0: number, y0: number, w: number, h: number, stroke: string): string {
  if (xs.length === 0) return '';
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const finite = ys.filter(Number.isFinite);
  if (!finite.length) return '';
  let ymin = Math.min(...finite), ymax = Math.max(...finite);
  if (ymax === ymin) { ymax += 0.5; ymin -= 0.5; }
  const px = (x: number): number => x0 + (xmax === xmin ? w / 2 : ((x - xmin) / (xmax - xmin)) * w);
  const py = (y: number): number => y0 + h - ((y - ymin) / (ymax - ymin)) * h;
  const pts = xs.map((x, i) => (Number.isFinite(ys[i]) ? `${px(x).toFixed(1)},${py(ys[i]).toFixed(1)}` : '')).filter(Boolean).join(' ');
  return [
    `<polyline fill="none" stroke="${stroke}" stroke-width="1.2" points="${pts}"/>`,
    `<text x="${x0 - 3}" y="${y0 + 8}" text-anchor="end" fill="${stroke}">${fmt(ymax)}</text>`,
    `<text x="${x0 - 3}" y="${y0 + h}" text-anchor="end" fill="${stroke}">${fmt(ymin)}</text>`,
  ].join('\n');
}

/** Base name of a path (the figure's title): 'out/run1/checkpoint_2.pth' -> 'checkpoint_2.pth'. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/**
 * The one SVG heatmap of a mask (`ahamask mask show --svg` and training's mask_heatmap.svg): layers down, heads
 * across (units digit per column and a tens row above), the unused FFN slot in grey, heads on per layer at the
 * right, axis titles, a colour legend (logit -> colour; on <=> logit >= 0), the title (a file's base name), and
 * optionally the training curves (loss, heads on) over the steps.
 */
export function trainingHeatmapSvg(logits: ArrayLike<number>, nLayers: number, nHeads: number, opts: { title?: string; history?: HeatmapHistory } = {}): string {
  const L = nLayers, H = nHeads;
  const c = Math.max(6, Math.min(14, Math.floor(560 / (H + 1))));
  const left = 58, top = 76; // room for the title, the subtitle and the head axis title above the tens row
  const gridW = (H + 1) * c, gridH = L * c;
  const hist = opts.history && opts.history.step.length > 0 ? opts.history : undefined;
  const plotW = 260, plotH = Math.max(60, Math.min(120, gridH / 2 - 20));
  const legendH = 46;
  const width = Math.max(left + gridW + 50 + (hist ? plotW + 70 : 0), left + 300);
  const height = Math.max(top + gridH + 30 + legendH, hist ? top + 2 * plotH + 80 : 0);
  let on = 0;
  const perLayer: number[] = [];
  for (let l = 0; l < L; l++) {
    let n = 0;
    for (let h = 0; h < H; h++) if (Math.fround(logits[l * (H + 1) + h]) >= 0) n++;
    perLayer.push(n);
    on += n;
  }
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="9">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="14" font-size="12" font-weight="bold">${esc(opts.title ?? 'AHAMask')}</text>`,
    `<text x="${left}" y="28" font-size="10">${on}/${L * H} heads on (${((100 * on) / (L * H)).toFixed(1)} %), ${L} layers x ${H} heads</text>`,
    // head axis: title, tens row, units row
    `<text x="${left + (H * c) / 2}" y="${top - 30}" text-anchor="middle" font-size="10">head</text>`,
  ];
  for (let h = 0; h < H; h++) {
    const x = left + h * c + c / 2;
    if (h % 10 === 0 && H > 10) out.push(`<text x="${x}" y="${top - 16}" text-anchor="middle">${Math.floor(h / 10)}</text>`);
    out.push(`<text x="${x}" y="${top - 4}" text-anchor="middle">${h % 10}</text>`);
  }
  out.push(`<text x="${left + H * c + c / 2}" y="${top - 4}" text-anchor="middle" fill="#777">ffn</text>`);
  out.push(`<text x="${left + gridW + 4}" y="${top - 4}">on</text>`);
  // layer axis: title (rotated), every label (every 5th when dense)
  out.push(`<text x="12" y="${top + gridH / 2}" text-anchor="middle" font-size="10" transform="rotate(-90 12 ${top + gridH / 2})">layer</text>`);
  for (let l = 0; l < L; l++) {
    const y = top + l * c;
    if (L <= 20 || l % 5 === 0) out.push(`<text x="${left - 4}" y="${y + c - 2}" text-anchor="end">${l}</text>`);
    for (let h = 0; h <= H; h++) {
      const v = Math.fround(logits[l * (H + 1) + h]);
      const fill = h === H ? '#ddd' : color(v);
      out.push(`<rect x="${left + h * c}" y="${y}" width="${c - 1}" height="${c - 1}" fill="${fill}"><title>layer ${l} ${h === H ? 'ffn slot (unused)' : `head ${h}`}: logit ${v}</title></rect>`);
    }
    out.push(`<text x="${left + gridW + 4}" y="${y + c - 2}">${perLayer[l]}</text>`);
  }
  // colour legend: logit from -SCALE to +SCALE
  const ly = top + gridH + 22, lw = 200, steps = 20;
  out.push(`<text x="${left}" y="${ly - 4}">mask logit (head on: logit &#8805; 0; |logit| &#8805; ${SCALE} saturates)</text>`);
  for (let i = 0; i < steps; i++) {
    const v = -SCALE + ((i + 0.5) * 2 * SCALE) / steps;
    out.push(`<rect class="legend" x="${(left + (i * lw) / steps).toFixed(1)}" y="${ly}" width="${(lw / steps + 0.5).toFixed(1)}" height="10" fill="${color(v)}"/>`);
  }
  for (const v of [-SCALE, 0, SCALE]) {
    out.push(`<text x="${left + ((v + SCALE) / (2 * SCALE)) * lw}" y="${ly + 20}" text-anchor="middle">${v > 0 ? '+' : ''}${v}</text>`);
  }
  out.push(`<text x="${left + lw + 8}" y="${ly + 9}">off &#8592; &#8594; on</text>`);
  if (hist) {
    const x0 = left + gridW + 90;
    out.push(`<text x="${x0}" y="${top - 4}">loss</text>`);
    out.push(`<rect x="${x0}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
    out.push(polyline(hist.step, hist.loss, x0, top, plotW, plotH, '#1f4e9c'));
    const y1 = top + plotH + 30;
    out.push(`<text x="${x0}" y="${y1 - 4}">heads on</text>`);
    out.push(`<rect x="${x0}" y="${y1}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
    out.push(polyline(hist.step, hist.headsOn, x0, y1, plotW, plotH, '#2e7d32'));
    out.push(`<text x="${x0 + plotW / 2}" y="${y1 + plotH + 14}" text-anchor="middle">step (last ${hist.step[hist.step.length - 1]})</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The same figure for a mask file: title = the file's base name. */
export const maskHeatmapSvg = (logits: ArrayLike<number>, nLayers: number, nHeads: number, file: string): string =>
  trainingHeatmapSvg(logits, nLayers, nHeads, { title: baseName(file) });
