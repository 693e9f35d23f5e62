// The demo's canvases: the loss curve, the sine task's probe plot and the gate heatmaps, drawn in
// CSS pixels on a device-pixel-ratio backing store. Pure drawing: main.js owns the state.

export const SIGMOID_GATES = new Set(["i", "f", "o"]);

// ---------------------------------------------------------------- colour maps

const hex = (s) => [1, 3, 5].map((k) => parseInt(s.slice(k, k + 2), 16));
function lut(stops) {
  const cs = stops.map(hex), out = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) {
    const x = (k / 255) * (cs.length - 1), j = Math.min(cs.length - 2, Math.floor(x)), u = x - j;
    for (let ch = 0; ch < 3; ch++) out[k * 3 + ch] = cs[j][ch] + (cs[j + 1][ch] - cs[j][ch]) * u;
  }
  return out;
}
const VIRIDIS = lut(["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6dcd59", "#b4de2c", "#fde725"]);
const DIVERGING = lut(["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"]);
const scaleOf = (k) => (SIGMOID_GATES.has(k) ? { map: VIRIDIS, lo: 0, hi: 1, ticks: ["1", "0.5", "0"] } : { map: DIVERGING, lo: -1, hi: 1, ticks: ["1", "0", "−1"] });
const rgb = (map, k) => `rgb(${map[k * 3]},${map[k * 3 + 1]},${map[k * 3 + 2]})`;

// ---------------------------------------------------------------- canvas helpers

const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const MONO = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const INK = "#1b1f24", MUTED = "#5d6672", GRID = "#e8ebef", ACCENT = "#e4572e", BLUE = "#2563eb", VIOLET = "#7c3aed";

/** Sizes the backing store to the CSS box times devicePixelRatio; returns a context in CSS pixels. */
function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const W = Math.max(1, Math.round(w * dpr)), H = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(W / Math.max(1, w), 0, 0, H / Math.max(1, h), 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  return { ctx, w, h };
}

function placeholder(ctx, cx, cy, text) {
  ctx.fillStyle = MUTED;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, cx, cy);
}

function niceStep(span, target) {
  const raw = span / Math.max(1, target), p = 10 ** Math.floor(Math.log10(raw)), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

export const fmtLoss = (v) => (v == null || !Number.isFinite(v) ? "–" : v < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
const fmtPow = (e) => (e >= -3 && e <= 2 ? String(10 ** e >= 1 ? 10 ** e : Number((10 ** e).toFixed(-e))) : `1e${e}`);

/** Text on a translucent white box, so it stays legible over the plot. */
function label(ctx, text, x, y, align) {
  ctx.font = FONT;
  const tw = ctx.measureText(text).width, x0 = align === "right" ? x - tw : x;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x0 - 3, y - 1, tw + 6, 15);
  ctx.fillStyle = INK; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(text, x0, y + 1);
}

/** The dashed violet line that marks a step: the sine's switch, or where the text's prime ends. */
function markerLine(ctx, x, y0, y1) {
  ctx.save();
  ctx.strokeStyle = VIOLET; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
  ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, y0); ctx.lineTo(Math.round(x) + 0.5, y1); ctx.stroke();
  ctx.restore();
}

// ---------------------------------------------------------------- loss plot

/**
 * Every batch's loss on a log scale: a min–max band and the geometric mean per pixel column.
 * @param s { losses, epochLoss, batchesPerEpoch, waiting }
 */
export function drawLoss(canvas, { losses: L, epochLoss, batchesPerEpoch: per = 16, waiting }) {
  const { ctx, w, h } = setup(canvas);
  const n = L.length;
  const m = { l: 44, r: 12, t: 10, b: 28 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  if (pw < 20 || ph < 20) return;
  if (!n) return placeholder(ctx, w / 2, h / 2, waiting);

  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < n; k++) { const v = L[k]; if (v > 0 && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
  if (!(lo < Infinity)) return placeholder(ctx, w / 2, h / 2, "no finite loss yet");
  let e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  if (e1 === e0) e1++;
  const xmax = Math.max(n, per * 5);
  const X = (s) => m.l + (s / xmax) * pw;
  const Y = (v) => m.t + (1 - (Math.log10(v) - e0) / (e1 - e0)) * ph;

  // grid: decades labelled, 2..9 faint
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let e = e0; e <= e1; e++) {
    ctx.strokeStyle = GRID; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(m.l, Math.round(Y(10 ** e)) + 0.5); ctx.lineTo(m.l + pw, Math.round(Y(10 ** e)) + 0.5); ctx.stroke();
    ctx.fillStyle = MUTED; ctx.fillText(fmtPow(e), m.l - 6, Y(10 ** e));
    if (e < e1 && (e1 - e0) <= 4) {
      ctx.strokeStyle = "#f2f4f6";
      for (let k = 2; k < 10; k++) { const y = Math.round(Y(k * 10 ** e)) + 0.5; ctx.beginPath(); ctx.moveTo(m.l, y); ctx.lineTo(m.l + pw, y); ctx.stroke(); }
    }
  }
  // x ticks in epochs
  const epochs = xmax / per, step = niceStep(epochs, Math.max(2, Math.floor(pw / 70)));
  ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillStyle = MUTED;
  for (let e = 0; e <= epochs + 1e-9; e += step) {
    const x = X(e * per);
    ctx.strokeStyle = GRID; ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, m.t); ctx.lineTo(Math.round(x) + 0.5, m.t + ph); ctx.stroke();
    ctx.fillText(String(Math.round(e)), x, m.t + ph + 5);
  }
  ctx.textAlign = "right"; ctx.fillText("epoch", m.l + pw, m.t + ph + 16 > h - 11 ? h - 11 : m.t + ph + 16);

  // one bin per CSS pixel column: min–max band of the batch losses and their geometric mean
  const cols = Math.max(1, Math.floor(X(n) - m.l)), band = [], mid = [];
  for (let c = 0; c < cols; c++) {
    const a = Math.floor((c / cols) * n), b = Math.max(a + 1, Math.floor(((c + 1) / cols) * n));
    let mn = Infinity, mx = -Infinity, s = 0, k2 = 0;
    for (let k = a; k < b && k < n; k++) { const v = L[k]; if (!(v > 0) || !Number.isFinite(v)) continue; mn = Math.min(mn, v); mx = Math.max(mx, v); s += Math.log10(v); k2++; }
    if (!k2) continue;
    const x = X((a + b) / 2);
    band.push([x, Y(mx), Y(mn)]);
    mid.push([x, m.t + (1 - (s / k2 - e0) / (e1 - e0)) * ph]);
  }
  ctx.save();
  ctx.beginPath(); ctx.rect(m.l, m.t, pw, ph); ctx.clip();
  if (band.length > 1) {
    ctx.fillStyle = "rgba(37, 99, 235, 0.16)";
    ctx.beginPath();
    band.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    for (let k = band.length - 1; k >= 0; k--) ctx.lineTo(band[k][0], band[k][2]);
    ctx.closePath(); ctx.fill();
  }
  ctx.strokeStyle = BLUE; ctx.lineWidth = 1.6; ctx.lineJoin = "round";
  ctx.beginPath();
  mid.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  if (mid.length === 1) ctx.arc(mid[0][0], mid[0][1], 1.5, 0, 7);
  ctx.stroke();
  ctx.restore();

  // the latest epoch mean, top right
  label(ctx, `${n.toLocaleString("en")} batches · last epoch ${fmtLoss(epochLoss)}`, m.l + pw - 5, m.t + 4, "right");
  ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l + 0.5, m.t + 0.5, pw - 1, ph - 1);
}

// ---------------------------------------------------------------- the sine task's probe plot

/** The probe's noisy input, its true next values and the model's predictions (view.pred). */
export function drawProbe(canvas, probe, view) {
  const { ctx, w, h } = setup(canvas);
  if (!probe) return placeholder(ctx, w / 2, h / 2, "waiting for the worker…");
  const T = probe.x.length, m = { l: 34, r: 12, t: 18, b: 26 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  if (pw < 20 || ph < 20) return;
  const X = (t) => m.l + (t / T) * pw, Y = (v) => m.t + ((1.3 - v) / 2.6) * ph;

  // the second regime, shaded; labels of both
  ctx.fillStyle = "rgba(124, 58, 237, 0.06)";
  ctx.fillRect(X(probe.at), m.t, X(T) - X(probe.at), ph);
  ctx.fillStyle = MUTED; ctx.textBaseline = "bottom";
  ctx.textAlign = "left"; ctx.fillText("slow, large wave", m.l + 2, m.t - 3);
  ctx.textAlign = "right"; ctx.fillText("fast, small wave", m.l + pw - 2, m.t - 3);

  ctx.lineWidth = 1; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of [-1, 0, 1]) {
    ctx.strokeStyle = v ? GRID : "#d5d9df";
    ctx.beginPath(); ctx.moveTo(m.l, Math.round(Y(v)) + 0.5); ctx.lineTo(m.l + pw, Math.round(Y(v)) + 0.5); ctx.stroke();
    ctx.fillStyle = MUTED; ctx.fillText(v < 0 ? "−1" : String(v), m.l - 6, Y(v));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  const step = niceStep(T, Math.max(2, Math.floor(pw / 60)));
  for (let t = 0; t <= T; t += step) ctx.fillText(String(t), X(t), m.t + ph + 5);

  markerLine(ctx, X(probe.at), m.t, m.t + ph);

  ctx.save();
  ctx.beginPath(); ctx.rect(m.l, m.t, pw, ph); ctx.clip();
  ctx.fillStyle = "#9aa3ad";
  for (let t = 0; t < T; t++) { ctx.beginPath(); ctx.arc(X(t), Y(probe.x[t]), 1.9, 0, 2 * Math.PI); ctx.fill(); }
  const line = (vals, color, width) => {
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.lineJoin = "round";
    ctx.beginPath();
    for (let t = 0; t < T; t++) (t ? ctx.lineTo : ctx.moveTo).call(ctx, X(t + 1), Y(vals[t])); // the prediction for t+1
    ctx.stroke();
  };
  line(probe.target, INK, 1.2);
  if (view?.pred) line(view.pred, ACCENT, 2.2);
  ctx.restore();

  if (view?.pred) {
    let se = 0;
    for (let t = 0; t < T; t++) se += (view.pred[t] - probe.target[t]) ** 2;
    label(ctx, `probe MSE ${fmtLoss(se / T)} · epoch ${view.epoch}`, m.l + 5, m.t + 4, "left");
  }
  ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l + 0.5, m.t + 0.5, pw - 1, ph - 1);
}

// ---------------------------------------------------------------- gate heatmaps

const scratch = document.createElement("canvas");
// How a character is written under the heatmap: the invisible ones get a visible stand-in.
const glyph = (ch) => (ch === " " ? "·" : ch === "\n" ? "↵" : ch);

/**
 * One gate's activations, T × H (time across, one row per unit), on its colour scale.
 * @param view { T, H, [k]: Float32Array [T,H] } or null. @param marker the step to mark (or null).
 * @param chars with the last row: a string of T characters to write under the steps (else step numbers).
 */
export function drawGate(canvas, k, last, view, marker, chars) {
  const { ctx, w, h } = setup(canvas);
  const m = { l: 22, r: 40, t: 3, b: last ? 20 : 3 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  if (pw < 20 || ph < 10) return;
  const scale = scaleOf(k);
  colourBar(ctx, scale, w - m.r + 8, m.t, ph);
  if (!view) return placeholder(ctx, m.l + pw / 2, m.t + ph / 2, "waiting for the worker…");
  const { T, H } = view, data = view[k];
  const X = (t) => m.l + (t / T) * pw;

  // T × H pixels, unit j in row j, scaled up without smoothing
  scratch.width = T; scratch.height = H;
  const sctx = scratch.getContext("2d"), img = sctx.createImageData(T, H), px = img.data;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < H; j++) {
      const v = data[t * H + j], u = Math.min(1, Math.max(0, (v - scale.lo) / (scale.hi - scale.lo)));
      const c = Math.round(u * 255) * 3, p = (j * T + t) * 4;
      px[p] = scale.map[c]; px[p + 1] = scale.map[c + 1]; px[p + 2] = scale.map[c + 2]; px[p + 3] = 255;
    }
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, m.l, m.t, pw, ph);

  ctx.fillStyle = MUTED; ctx.textAlign = "right"; ctx.textBaseline = "top";
  ctx.fillText("0", m.l - 5, m.t);
  ctx.textBaseline = "bottom";
  ctx.fillText(String(H - 1), m.l - 5, m.t + ph);
  if (marker !== null && marker !== undefined) {
    ctx.save();
    ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 3.5;
    const x = Math.round(X(marker)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, m.t); ctx.lineTo(x, m.t + ph); ctx.stroke();
    ctx.restore();
    markerLine(ctx, X(marker), m.t, m.t + ph);
  }
  if (!last) return;
  ctx.fillStyle = MUTED; ctx.textAlign = "center"; ctx.textBaseline = "top";
  if (chars) {
    // Every character when there is room (7 px each), else every n-th.
    const every = Math.max(1, Math.ceil(7 / (pw / T)));
    ctx.font = MONO;
    for (let t = 0; t < T; t += every) {
      ctx.fillStyle = marker !== null && t < marker ? MUTED : INK;
      ctx.fillText(glyph(chars[t]), X(t + 0.5), m.t + ph + 5);
    }
    ctx.font = FONT;
  } else {
    const step = niceStep(T, Math.max(2, Math.floor(pw / 60)));
    for (let t = 0; t <= T; t += step) ctx.fillText(String(t), X(t), m.t + ph + 5);
  }
}

function colourBar(ctx, scale, x, y, height) {
  const bw = 9;
  for (let py = 0; py < height; py++) {
    const u = 1 - py / Math.max(1, height - 1);
    ctx.fillStyle = rgb(scale.map, Math.round(u * 255));
    ctx.fillRect(x, y + py, bw, 1.5);
  }
  ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 0.5, bw - 1, height - 1);
  ctx.fillStyle = MUTED; ctx.textAlign = "left";
  ctx.textBaseline = "top"; ctx.fillText(scale.ticks[0], x + bw + 4, y);
  ctx.textBaseline = "middle"; ctx.fillText(scale.ticks[1], x + bw + 4, y + height / 2);
  ctx.textBaseline = "bottom"; ctx.fillText(scale.ticks[2], x + bw + 4, y + height);
}
