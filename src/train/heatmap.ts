// The end-of-training figure: the mask as a layers x heads heatmap of the logits (green = on, logit >= 0; red =
// off; the unused FFN slot in grey) and, when a history is given, the loss and heads-on curves over the steps.

export interface HeatmapHistory {
  step: number[];
  loss: number[];
  headsOn: number[];
}

const esc = (x: string): string => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function color(logit: number): string {
  const t = Math.min(1, Math.abs(logit) / 8);
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

/** SVG of the mask (logits in file order, L*(H+1)) and optional training curves. */
export function trainingHeatmapSvg(logits: ArrayLike<number>, nLayers: number, nHeads: number, opts: { title?: string; history?: HeatmapHistory } = {}): string {
  const L = nLayers, H = nHeads;
  const c = Math.max(6, Math.min(14, Math.floor(560 / (H + 1))));
  const left = 44, top = 40;
  const gridW = (H + 1) * c, gridH = L * c;
  const hist = opts.history && opts.history.step.length > 0 ? opts.history : undefined;
  const plotW = 260, plotH = Math.max(60, Math.min(120, gridH / 2 - 20));
  const width = left + gridW + 50 + (hist ? plotW + 70 : 0);
  const height = Math.max(top + gridH + 30, hist ? top + 2 * plotH + 80 : 0);
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
    `<text x="${left}" y="14" font-size="11">${esc(opts.title ?? 'AHAMask')}: ${on}/${L * H} heads on (${((100 * on) / (L * H)).toFixed(1)} %)</text>`,
  ];
  const step = H > 20 ? 5 : 1;
  for (let h = 0; h < H; h += step) out.push(`<text x="${left + h * c + c / 2}" y="${top - 4}" text-anchor="middle">${h}</text>`);
  out.push(`<text x="${left + H * c + c / 2}" y="${top - 4}" text-anchor="middle">ffn</text>`);
  for (let l = 0; l < L; l++) {
    const y = top + l * c;
    if (L <= 20 || l % 5 === 0) out.push(`<text x="${left - 4}" y="${y + c - 2}" text-anchor="end">L${l}</text>`);
    for (let h = 0; h <= H; h++) {
      const v = Math.fround(logits[l * (H + 1) + h]);
      const fill = h === H ? '#ddd' : color(v);
      out.push(`<rect x="${left + h * c}" y="${y}" width="${c - 1}" height="${c - 1}" fill="${fill}"><title>layer ${l} ${h === H ? 'ffn slot (unused)' : `head ${h}`}: logit ${v}</title></rect>`);
    }
    out.push(`<text x="${left + gridW + 4}" y="${y + c - 2}">${perLayer[l]}</text>`);
  }
  if (hist) {
    const x0 = left + gridW + 90;
    out.push(`<text x="${x0}" y="${top - 4}">loss</text>`);
    out.push(`<rect x="${x0}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
    out.push(polyline(hist.step, hist.loss, x0, top, plotW, plotH, '#1f4e9c'));
    const y1 = top + plotH + 30;
    out.push(`<text x="${x0}" y="${y1 - 4}">heads on</text>`);
    out.push(`<rect x="${x0}" y="${y1}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
    out.push(polyline(hist.step, hist.headsOn, x0, y1, plotW, plotH, '#2e7d32'));
    out.push(`<text x="${x0 + plotW}" y="${y1 + plotH + 12}" text-anchor="end">step ${hist.step[hist.step.length - 1]}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
