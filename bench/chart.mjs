// results -> one SVG: grouped horizontal bars of GFLOP/s per workload and mode (log scale), the
// thread rows the same way (each library and build on 1, 2, … threads, with the gain over 1 thread),
// and the H sweep as lines (GFLOP/s against H). Hand-made, no dependencies; fonts fall back to sans-serif.

const SERIES = [
  // [library, backend, colour, label]
  ["lstm-wasm", "relaxed-simd", "#1f6feb", "lstm-wasm relaxed-simd"],
  ["lstm-wasm", "simd", "#6ea8fe", "lstm-wasm simd"],
  ["onnxruntime-node", null, "#d97706", "onnxruntime-node (native)"],
  ["onnxruntime-web", null, "#f2b35b", "onnxruntime-web (wasm)"],
  ["pytorch", null, "#e03131", "PyTorch (native)"],
  ["tfjs", null, "#2f9e44", "tfjs (wasm)"],
  ["brain.js", null, "#9c36b5", "brain.js (js, not checked)"],
];

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const seriesOf = (m) => SERIES.find(([lib, be]) => lib === m.library && (be === null || be === m.backend));
const fmtG = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));

function text(x, y, s, { size = 12, anchor = "start", weight = "normal", fill = "#222", extra = "" } = {}) {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="${fill}"${extra}>${esc(s)}</text>`;
}

// Vertical grid lines of a log axis from 10^lo to 10^hi at 1, 2 and 5 of each decade, labelled above `top`.
function gridLines(out, lo, hi, xOf, top, bottom) {
  for (let d = lo; d <= Math.ceil(hi); d++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** d;
      if (Math.log10(v) > hi) break;
      const x = xOf(v).toFixed(1);
      out.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="${k === 1 ? "#d4d4d4" : "#eee"}"/>`);
      out.push(text(+x, top - 8, v >= 1 ? String(v) : v.toFixed(-d), { size: k === 1 ? 10 : 9, anchor: "middle", fill: k === 1 ? "#555" : "#999" }));
    }
  }
}

export function renderChart({ machine, date, run, measurements, threadRows = [] }) {
  const W = 980, left = 190, right = 80, plotW = W - left - right;
  const out = [];
  let y = 28;
  out.push(text(W / 2, y, "lstm-wasm vs peers: GFLOP/s, single thread (higher is better)", { size: 17, anchor: "middle", weight: "bold" }));
  y += 20;
  out.push(text(W / 2, y, `${machine.cpu}, Node ${machine.node}, ${date.slice(0, 10)}${run.quick ? ", quick run" : ""}; median times; forward 2·B·T·4H·(I+H) flops, training 3× (C: + the Linear's 2·B·T·H·V)`, { size: 11, anchor: "middle", fill: "#555" }));
  y += 22;

  // Legend: only the series that appear, wrapped to the width.
  const present = SERIES.filter((s) => [...measurements, ...threadRows].some((m) => seriesOf(m) === s));
  let lx = 40;
  for (const s of present) {
    const w = 30 + s[3].length * 6.3;
    if (lx + w > W - 20) {
      lx = 40;
      y += 18;
    }
    out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${s[2]}" rx="2"/>`);
    out.push(text(lx + 16, y, s[3], { size: 11 }));
    lx += w;
  }
  y += 36;

  // Panel 1: bars. Groups in the order measured, the sweep left to panel 2.
  const groups = [];
  for (const m of measurements) {
    if (m.workload.startsWith("H=")) continue;
    const key = `${m.workload} ${m.mode}`;
    let g = groups.find((x) => x.key === key);
    if (!g) groups.push((g = { key, m, rows: [] }));
    g.rows.push(m);
  }
  const vals = groups.flatMap((g) => g.rows.map((m) => m.gflops)).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...vals))), hi = Math.log10(Math.max(...vals) * 1.9); // room for labels
  const xOf = (v) => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const barH = 13, gap = 3, groupGap = 16;
  const top = y + 8;
  const height = groups.reduce((h, g) => h + g.rows.length * (barH + gap) + groupGap, 0);
  gridLines(out, lo, hi, xOf, top, top + height - groupGap + 4);
  out.push(text(left - 10, top - 8, "GFLOP/s (log scale)", { size: 10, anchor: "end", fill: "#555" }));
  let gy = top;
  for (const g of groups) {
    const gh = g.rows.length * (barH + gap) - gap;
    const { B, T, I, H, V, E } = g.m;
    out.push(text(left - 10, gy + gh / 2 - 2, `${g.m.workload} ${g.m.mode}`, { size: 13, anchor: "end", weight: "bold" }));
    out.push(text(left - 10, gy + gh / 2 + 12, g.m.mode === "step" ? `B=${B} I=${I} H=${H}, per step` : V ? `char model B=${B} T=${T} V=${V} E=${E} H=${H}` : `B=${B} T=${T} I=${I} H=${H}`, { size: 10, anchor: "end", fill: "#666" }));
    for (const m of g.rows) {
      const s = seriesOf(m) ?? [m.library, m.backend, "#888", m.library];
      const x1 = xOf(10 ** lo), x2 = Math.max(x1 + 1, xOf(m.gflops));
      const unchecked = m.status === "not checked";
      out.push(`<rect x="${x1.toFixed(1)}" y="${gy}" width="${(x2 - x1).toFixed(1)}" height="${barH}" fill="${s[2]}"${unchecked ? ' fill-opacity="0.45" stroke="' + s[2] + '" stroke-dasharray="3 2"' : ""}><title>${esc(`${s[3]}: ${fmtG(m.gflops)} GFLOP/s, median ${m.median.toFixed(3)} ${m.unit}`)}</title></rect>`);
      const ratio = m.ratio && !(m.library === "lstm-wasm" && m.backend === run.bestBuild) ? `  (${m.ratio.toFixed(2)}× time)` : "";
      out.push(text(x2 + 4, gy + barH - 2, `${fmtG(m.gflops)}${ratio}${unchecked ? " *" : ""}`, { size: 10, fill: "#333" }));
      gy += barH + gap;
    }
    gy += groupGap - gap;
  }
  y = gy + 4;
  out.push(text(left, y, "(n× time) = that library's median time / lstm-wasm relaxed-simd's; * not checked: brain.js' LSTM has no cell state, outputs cannot match", { size: 10, fill: "#666" }));
  y += 36;

  // Panel 2: the thread rows, on their own log scale; a lighter bar is 1 thread.
  if (threadRows.length) {
    out.push(text(W / 2, y, `Threads: ${run.threadCounts.join(", ")} on ${run.cores} cores (GFLOP/s, higher is better)`, { size: 15, anchor: "middle", weight: "bold" }));
    y += 16;
    out.push(text(W / 2, y, "lstm-wasm n threads timed interleaved with 1 thread in one process, bit-identical to it; onnxruntime-web numThreads = n, one process per n", { size: 11, anchor: "middle", fill: "#555" }));
    y += 26;
    const tg = [];
    for (const m of threadRows) {
      const key = `${m.workload} ${m.mode}`;
      let g = tg.find((x) => x.key === key);
      if (!g) tg.push((g = { key, m, rows: [] }));
      g.rows.push(m);
    }
    const tv = threadRows.map((m) => m.gflops).filter((v) => v > 0);
    const tlo = Math.floor(Math.log10(Math.min(...tv))), thi = Math.log10(Math.max(...tv) * 2.6);
    const tx = (v) => left + ((Math.log10(v) - tlo) / (thi - tlo)) * plotW;
    const ttop = y + 8;
    const th = tg.reduce((h, g) => h + g.rows.length * (barH + gap) + groupGap, 0);
    gridLines(out, tlo, thi, tx, ttop, ttop + th - groupGap + 4);
    let ty = ttop;
    for (const g of tg) {
      const gh = g.rows.length * (barH + gap) - gap;
      const { B, T, I, H } = g.m;
      out.push(text(left - 10, ty + gh / 2 - 2, `${g.m.workload} ${g.m.mode}`, { size: 13, anchor: "end", weight: "bold" }));
      out.push(text(left - 10, ty + gh / 2 + 12, g.m.mode === "step" ? `B=${B} I=${I} H=${H}, per step` : `B=${B} T=${T} I=${I} H=${H}`, { size: 10, anchor: "end", fill: "#666" }));
      for (const m of g.rows) {
        const s = seriesOf(m) ?? [m.library, m.backend, "#888", m.library];
        const x1 = tx(10 ** tlo), x2 = Math.max(x1 + 1, tx(m.gflops));
        const n = `${m.threads} thread${m.threads > 1 ? "s" : ""}`;
        out.push(`<rect x="${x1.toFixed(1)}" y="${ty}" width="${(x2 - x1).toFixed(1)}" height="${barH}" fill="${s[2]}"${m.threads === 1 ? ' fill-opacity="0.45"' : ""}><title>${esc(`${s[3]}, ${n}: ${fmtG(m.gflops)} GFLOP/s, median ${m.median.toFixed(3)} ${m.unit}`)}</title></rect>`);
        out.push(text(x1 + 4, ty + barH - 3, n, { size: 9, fill: m.threads === 1 ? "#222" : "#fff" }));
        const gain = m.threads > 1 && m.gain ? `, gain ${m.gain.toFixed(2)}×` : "";
        const ratio = m.ratio && !(m.library === "lstm-wasm" && m.backend === run.bestBuild) ? `  (${m.ratio.toFixed(2)}× time)` : "";
        out.push(text(x2 + 4, ty + barH - 2, `${fmtG(m.gflops)}${gain}${ratio}`, { size: 10, fill: "#333" }));
        ty += barH + gap;
      }
      ty += groupGap - gap;
    }
    y = ty + 4;
    out.push(text(left, y, `(n× time) = that library's median time / lstm-wasm ${run.bestBuild}'s on as many threads; lighter bars: 1 thread`, { size: 10, fill: "#666" }));
    y += 36;
  }

  // Panel 3: the H sweep.
  const sweep = measurements.filter((m) => m.workload.startsWith("H="));
  if (sweep.length) {
    const Hs = [...new Set(sweep.map((m) => m.H))].sort((a, b) => a - b);
    const s0 = sweep[0];
    out.push(text(W / 2, y, `H sweep, forward: B=${s0.B}, T=${s0.T}, I=${s0.I}`, { size: 15, anchor: "middle", weight: "bold" }));
    y += 14;
    const pTop = y + 10, pH = 260, pLeft = left, pW = plotW - 120;
    const maxG = Math.max(...sweep.map((m) => m.gflops));
    const step = [1, 2, 5, 10, 20, 25, 50, 100].find((s) => maxG / s <= 8) ?? 200;
    const yMax = Math.ceil((maxG * 1.05) / step) * step;
    const X = (H) => pLeft + (Hs.length === 1 ? pW / 2 : ((Math.log2(H) - Math.log2(Hs[0])) / (Math.log2(Hs.at(-1)) - Math.log2(Hs[0]))) * pW);
    const Y = (g) => pTop + pH - (g / yMax) * pH;
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      out.push(`<line x1="${pLeft}" y1="${Y(v).toFixed(1)}" x2="${pLeft + pW}" y2="${Y(v).toFixed(1)}" stroke="${v === 0 ? "#999" : "#e4e4e4"}"/>`);
      out.push(text(pLeft - 8, Y(v) + 4, String(v), { size: 10, anchor: "end", fill: "#666" }));
    }
    for (const H of Hs) {
      out.push(`<line x1="${X(H).toFixed(1)}" y1="${pTop}" x2="${X(H).toFixed(1)}" y2="${pTop + pH}" stroke="#f0f0f0"/>`);
      out.push(text(X(H), pTop + pH + 16, `H=${H}`, { size: 11, anchor: "middle", fill: "#444" }));
    }
    out.push(text(pLeft - 40, pTop + pH / 2, "GFLOP/s", { size: 11, anchor: "middle", fill: "#444", extra: ` transform="rotate(-90 ${pLeft - 40} ${pTop + pH / 2})"` }));
    const ends = [];
    for (const s of SERIES) {
      const pts = sweep.filter((m) => seriesOf(m) === s).sort((a, b) => a.H - b.H);
      if (!pts.length) continue;
      out.push(`<polyline fill="none" stroke="${s[2]}" stroke-width="2.2" points="${pts.map((m) => `${X(m.H).toFixed(1)},${Y(m.gflops).toFixed(1)}`).join(" ")}"/>`);
      for (const m of pts) out.push(`<circle cx="${X(m.H).toFixed(1)}" cy="${Y(m.gflops).toFixed(1)}" r="3.5" fill="${s[2]}"><title>${esc(`${s[3]} H=${m.H}: ${fmtG(m.gflops)} GFLOP/s`)}</title></circle>`);
      ends.push({ y: Y(pts.at(-1).gflops) + 4, x: X(pts.at(-1).H) + 8, s: `${s[3].split(" (")[0]} ${fmtG(pts.at(-1).gflops)}`, c: s[2] });
    }
    // End labels, pushed apart so that close lines stay readable.
    ends.sort((a, b) => a.y - b.y);
    for (let i = 1; i < ends.length; i++) ends[i].y = Math.max(ends[i].y, ends[i - 1].y + 13);
    for (const e of ends) out.push(text(e.x, e.y, e.s, { size: 10, fill: e.c, weight: "bold" }));
    y = pTop + pH + 40;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(y)}" viewBox="0 0 ${W} ${Math.ceil(y)}" font-family="Helvetica, Arial, sans-serif">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${out.join("\n")}\n</svg>\n`;
}
