// The demo page: starts the training worker, keeps window.demo up to date for tests, and draws the
// loss curve, the probe prediction and the gate heatmaps on canvases (device-pixel-ratio aware).

const $ = (id) => document.getElementById(id);
const GATES = ["i", "f", "g", "o", "c"];
const SIGMOID_GATES = new Set(["i", "f", "o"]);

/** State for automated tests; `losses` holds every batch's loss of the current model. */
const demo = (window.demo = {
  losses: [], backend: null, epoch: 0, steps: 0, gatesDrawn: 0,
  state: "loading", stepsPerSec: 0, epochLoss: null, seed: null, worker: null,
});

let config = null, probe = null, gates = null, send = () => {};
const dirty = { loss: true, probe: true, gates: true };

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

const fmtLoss = (v) => (v == null || !Number.isFinite(v) ? "–" : v < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
const fmtPow = (e) => (e >= -3 && e <= 2 ? String(10 ** e >= 1 ? 10 ** e : Number((10 ** e).toFixed(-e))) : `1e${e}`);

// ---------------------------------------------------------------- loss plot

function drawLoss() {
  const { ctx, w, h } = setup($("loss-canvas"));
  const L = demo.losses, n = L.length;
  const m = { l: 44, r: 12, t: 10, b: 28 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  if (pw < 20 || ph < 20) return;
  if (!n) return placeholder(ctx, w / 2, h / 2, demo.state === "loading" ? "starting the worker…" : "waiting for the first batch…");

  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < n; k++) { const v = L[k]; if (v > 0 && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
  if (!(lo < Infinity)) return placeholder(ctx, w / 2, h / 2, "no finite loss yet");
  let e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  if (e1 === e0) e1++;
  const per = config?.batchesPerEpoch ?? 16;
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
  label(ctx, `${n.toLocaleString("en")} batches · last epoch ${fmtLoss(demo.epochLoss)}`, m.l + pw - 5, m.t + 4, "right");
  ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l + 0.5, m.t + 0.5, pw - 1, ph - 1);
}

// ---------------------------------------------------------------- probe plot

function drawProbe() {
  const { ctx, w, h } = setup($("probe-canvas"));
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

  switchLine(ctx, X(probe.at), m.t, m.t + ph);

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
  if (gates?.pred) line(gates.pred, ACCENT, 2.2);
  ctx.restore();

  if (gates?.pred) {
    let se = 0;
    for (let t = 0; t < T; t++) se += (gates.pred[t] - probe.target[t]) ** 2;
    label(ctx, `probe MSE ${fmtLoss(se / T)} · epoch ${gates.epoch}`, m.l + 5, m.t + 4, "left");
  }
  ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l + 0.5, m.t + 0.5, pw - 1, ph - 1);
}

/** Text on a translucent white box, so it stays legible over the plot. */
function label(ctx, text, x, y, align) {
  ctx.font = FONT;
  const tw = ctx.measureText(text).width, x0 = align === "right" ? x - tw : x;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x0 - 3, y - 1, tw + 6, 15);
  ctx.fillStyle = INK; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(text, x0, y + 1);
}

function switchLine(ctx, x, y0, y1) {
  ctx.save();
  ctx.strokeStyle = VIOLET; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
  ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, y0); ctx.lineTo(Math.round(x) + 0.5, y1); ctx.stroke();
  ctx.restore();
}

// ---------------------------------------------------------------- gate heatmaps

const scratch = document.createElement("canvas");

function drawGates() {
  for (const canvas of document.querySelectorAll("canvas.gate")) drawGate(canvas, canvas.dataset.gate, canvas.classList.contains("last"));
  if (gates) demo.gatesDrawn++;
}

function drawGate(canvas, k, last) {
  const { ctx, w, h } = setup(canvas);
  const m = { l: 22, r: 40, t: 3, b: last ? 20 : 3 }, pw = w - m.l - m.r, ph = h - m.t - m.b;
  if (pw < 20 || ph < 10) return;
  const scale = scaleOf(k);
  colourBar(ctx, scale, w - m.r + 8, m.t, ph);
  if (!gates) return placeholder(ctx, m.l + pw / 2, m.t + ph / 2, "waiting for the worker…");
  const { T, H } = gates, data = gates[k];
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
  if (probe) {
    ctx.save();
    ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 3.5;
    const x = Math.round(X(probe.at)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, m.t); ctx.lineTo(x, m.t + ph); ctx.stroke();
    ctx.restore();
    switchLine(ctx, X(probe.at), m.t, m.t + ph);
  }
  if (last) {
    ctx.fillStyle = MUTED; ctx.textAlign = "center"; ctx.textBaseline = "top";
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

// ---------------------------------------------------------------- redraw scheduling

let frame = 0;
function schedule(...parts) {
  for (const p of parts) dirty[p] = true;
  if (!frame) frame = requestAnimationFrame(render);
}
function render() {
  frame = 0;
  if (dirty.loss) { dirty.loss = false; drawLoss(); }
  if (dirty.probe) { dirty.probe = false; drawProbe(); }
  if (dirty.gates) { dirty.gates = false; drawGates(); }
}
const everything = () => schedule("loss", "probe", "gates");
new ResizeObserver(everything).observe(document.querySelector("main"));
window.addEventListener("resize", everything);

// ---------------------------------------------------------------- readouts and messages

function setStatus(text, error = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

function setState(state) {
  demo.state = state;
  document.body.dataset.state = state;
  const ready = demo.backend !== null;
  $("pause").disabled = !ready || state !== "running";
  $("resume").disabled = !ready || state === "running";
  $("reset").disabled = !ready;
  if (state === "running") $("rate").textContent = demo.stepsPerSec ? Math.round(demo.stepsPerSec).toLocaleString("en") : "–";
  else if (ready) $("rate").textContent = "paused";
}

function onMessage(msg) {
  switch (msg.type) {
    case "ready":
      demo.backend = msg.backend;
      config = msg.config;
      probe = msg.probe;
      $("backend").textContent = msg.backend;
      document.body.dataset.ready = "1";
      setState("running");
      setStatus(`wasm backend ${msg.backend} ready in ${Math.round(msg.initMs)} ms · training in ${demo.worker ? "a Web Worker" : "the page (no module workers here)"}`);
      schedule("probe", "gates");
      break;
    case "reset":
      demo.losses = [];
      demo.epoch = 0; demo.steps = 0; demo.epochLoss = null; demo.seed = msg.seed;
      $("epoch").textContent = "0"; $("loss").textContent = "–";
      schedule("loss");
      break;
    case "progress":
      for (const v of msg.losses) demo.losses.push(v);
      demo.epoch = msg.epoch; demo.steps = msg.steps; demo.epochLoss = msg.epochLoss; demo.stepsPerSec = msg.stepsPerSec;
      $("epoch").textContent = String(msg.epoch);
      $("loss").textContent = fmtLoss(msg.epochLoss ?? mean(demo.losses.slice(-16)));
      $("rate").title = `${Math.round(msg.samplesPerSec).toLocaleString("en")} sequences of ${config?.T ?? "?"} steps per second`;
      setState(msg.state);
      schedule("loss");
      break;
    case "gates":
      gates = msg;
      schedule("probe", "gates");
      break;
    case "status":
      setStatus(msg.text);
      break;
    case "error":
      setStatus(`training stopped: ${msg.message}`, true);
      break;
  }
}
const mean = (a) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : null);

// ---------------------------------------------------------------- start

function seedValue() {
  const v = Number($("seed").value);
  return Number.isInteger(v) && v >= 0 && v < 2 ** 31 ? v : 1;
}

async function startInPage(reason) {
  demo.worker = false;
  setStatus(`${reason}; training on the page instead`);
  const { createTrainer } = await import("./trainer.js");
  const trainer = createTrainer((m) => onMessage(m));
  send = (m) => trainer.handle(m);
  send({ type: "start", seed: seedValue() });
}

function start() {
  const params = new URLSearchParams(location.search);
  if (params.has("seed")) $("seed").value = String(Number(params.get("seed")) || 0);
  let worker;
  try {
    worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  } catch (err) {
    startInPage(`could not start a module worker (${err?.message ?? err})`);
    return;
  }
  demo.worker = true;
  worker.onmessage = (e) => onMessage(e.data);
  worker.onerror = (e) => {
    e.preventDefault?.();
    if (demo.backend === null) {
      worker.terminate();
      startInPage("the module worker failed to start");
    } else setStatus(`worker error: ${e.message ?? "unknown"}`, true);
  };
  send = (m) => worker.postMessage(m);
  send({ type: "start", seed: seedValue() });
}

$("pause").addEventListener("click", () => { send({ type: "pause" }); setState("paused"); setStatus("paused"); });
$("resume").addEventListener("click", () => { send({ type: "resume" }); setState("running"); setStatus(`training · backend ${demo.backend}`); });
$("reset").addEventListener("click", () => {
  const seed = seedValue();
  send({ type: "reset", seed });
  setState("running");
  setStatus(`new model from seed ${seed}, same data`);
});
$("seed").addEventListener("keydown", (e) => { if (e.key === "Enter" && !$("reset").disabled) $("reset").click(); });

start();
everything();
