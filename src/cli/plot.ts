// A plain SVG line chart for the forecast: history, holdout, model forecast, seasonal naive, future.
// Hand-made: a few lines, axes and a legend need no charting library. Long series are drawn
// downsampled (each bucket's minimum and maximum), so the file stays small and no step is O(n)
// in stack space.

export interface Line { label: string; color: string; x0: number; values: readonly number[]; dashed?: boolean }

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Most points one polyline gets: about one per pixel of a 960 px chart. */
export const MAX_POINTS = 1000;
const MAX_TICKS = 14;

/**
 * Indices of the points to draw: all of them up to `max`, otherwise the first, the last, and the
 * minimum and maximum of each of max/2 buckets, in order.
 */
export function downsample(values: readonly number[], max = MAX_POINTS): number[] {
  const n = values.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor((max - 2) / 2)), out: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * (n - 2)) / buckets), to = 1 + Math.floor(((b + 1) * (n - 2)) / buckets);
    let lo = -1, hi = -1;
    for (let i = from; i < to; i++) {
      if (!Number.isFinite(values[i])) continue;
      if (lo < 0 || values[i] < values[lo]) lo = i;
      if (hi < 0 || values[i] > values[hi]) hi = i;
    }
    if (lo >= 0) out.push(...(lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]));
  }
  out.push(n - 1);
  return out;
}

/**
 * @param lines series placed by their first index x0 on a shared x axis.
 * @param xLabel maps an index to an axis label (e.g. a year), or null for no tick there; thinned to
 *   at most 14 ticks.
 */
export function svgChart(title: string, lines: Line[], xLabel: (i: number) => string | null, w = 960, h = 480): string {
  const m = { l: 70, r: 20, t: 44, b: 56 };
  let xMax = 1, lo = Infinity, hi = -Infinity;
  for (const l of lines) {
    xMax = Math.max(xMax, l.x0 + l.values.length - 1);
    for (const v of l.values) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  if (!(lo <= hi)) { lo = 0; hi = 1; }
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  const y0 = lo - pad, y1 = hi + pad;
  const X = (i: number) => m.l + (i / xMax) * (w - m.l - m.r);
  const Y = (v: number) => h - m.b - ((v - y0) / (y1 - y0)) * (h - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${w}" height="${h}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="24" font-size="16" font-weight="600" fill="#222">${esc(title)}</text>`);
  for (let k = 0; k <= 5; k++) { // horizontal grid with value labels
    const v = y0 + ((y1 - y0) * k) / 5, y = Y(v).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${tickValue(v, y1 - y0)}</text>`);
  }
  const ticks: [number, string][] = [];
  for (let i = 0; i <= xMax; i++) {
    const lab = xLabel(i);
    if (lab !== null) ticks.push([i, lab]);
  }
  const every = Math.ceil(ticks.length / MAX_TICKS);
  ticks.forEach(([i, lab], k) => {
    if (k % every !== 0) return;
    const x = X(i).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${h - m.b}" stroke="#f0f0f0"/><text x="${x}" y="${h - m.b + 16}" text-anchor="middle" fill="#555">${esc(lab)}</text>`);
  });
  out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${h - m.b}" y2="${h - m.b}" stroke="#888"/>`);
  lines.forEach((l, k) => {
    const pts = downsample(l.values).filter((i) => Number.isFinite(l.values[i]))
      .map((i) => `${X(l.x0 + i).toFixed(1)},${Y(l.values[i]).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ""} points="${pts}"/>`);
    const lx = m.l + k * 170;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${h - 18}" y2="${h - 18}" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ""}/><text x="${lx + 30}" y="${h - 14}" fill="#333">${esc(l.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

// An axis value with as many decimals as the axis' range calls for.
function tickValue(v: number, range: number): string {
  const dec = Math.min(6, Math.max(0, 1 - Math.floor(Math.log10(range / 5))));
  return Math.abs(v) >= 1e6 ? v.toExponential(2) : v.toFixed(dec);
}
