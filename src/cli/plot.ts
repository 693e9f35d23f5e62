// A plain SVG line chart for the forecast: history, holdout, model forecast, seasonal naive, future.
// Hand-made: a few lines, axes and a legend need no charting library.

export interface Line { label: string; color: string; x0: number; values: number[]; dashed?: boolean }

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @param lines series placed by their first index x0 on a shared x axis.
 * @param xLabel maps an index to an axis label (e.g. a year), or null for no tick there.
 */
export function svgChart(title: string, lines: Line[], xLabel: (i: number) => string | null, w = 960, h = 480): string {
  const m = { l: 60, r: 20, t: 44, b: 56 };
  const xMax = Math.max(...lines.map((l) => l.x0 + l.values.length - 1));
  const all = lines.flatMap((l) => l.values).filter(Number.isFinite);
  const lo = Math.min(...all), hi = Math.max(...all), pad = (hi - lo) * 0.05 || 1;
  const y0 = lo - pad, y1 = hi + pad;
  const X = (i: number) => m.l + (i / Math.max(1, xMax)) * (w - m.l - m.r);
  const Y = (v: number) => h - m.b - ((v - y0) / (y1 - y0)) * (h - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${w}" height="${h}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="24" font-size="16" font-weight="600" fill="#222">${esc(title)}</text>`);
  for (let k = 0; k <= 5; k++) { // horizontal grid with value labels
    const v = y0 + ((y1 - y0) * k) / 5, y = Y(v).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${Math.round(v)}</text>`);
  }
  for (let i = 0; i <= xMax; i++) {
    const lab = xLabel(i);
    if (lab === null) continue;
    const x = X(i).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${h - m.b}" stroke="#f0f0f0"/><text x="${x}" y="${h - m.b + 16}" text-anchor="middle" fill="#555">${esc(lab)}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${h - m.b}" y2="${h - m.b}" stroke="#888"/>`);
  lines.forEach((l, k) => {
    const pts = l.values.map((v, i) => (Number.isFinite(v) ? `${X(l.x0 + i).toFixed(1)},${Y(v).toFixed(1)}` : "")).filter(Boolean).join(" ");
    out.push(`<polyline fill="none" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ""} points="${pts}"/>`);
    const lx = m.l + k * 170;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${h - 18}" y2="${h - 18}" stroke="${l.color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ""}/><text x="${lx + 30}" y="${h - 14}" fill="#333">${esc(l.label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}
