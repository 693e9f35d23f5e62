// The demo page: starts the training worker, switches tasks, keeps window.demo up to date for
// tests, and redraws (draw.js) or rewrites (the text task's sample) what the worker reports.
import { drawLoss, drawProbe, drawGate, fmtLoss } from "./draw.js";

const $ = (id) => document.getElementById(id);
const TASKS = ["sine", "text"];
// The text task keeps the sample written when training first reaches each of these steps.
const MILESTONES = [0, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800];

/**
 * State for automated tests; `losses` holds every batch's loss of the current model. The text task
 * adds `text` (the latest sample), `textTemperature` (the temperature it was sampled at), `samples`
 * (how many arrived), `history` (the milestone samples) and `temperature` (the slider's).
 */
const demo = (window.demo = {
  task: null, losses: [], backend: null, epoch: 0, steps: 0, gatesDrawn: 0,
  state: "loading", stepsPerSec: 0, epochLoss: null, seed: null, worker: null,
  text: "", textTemperature: null, samples: 0, history: [], temperature: 0.7,
});

let config = null, probe = null, view = null, send = () => {};
const dirty = { loss: true, probe: true, gates: true };

// ---------------------------------------------------------------- redraw scheduling

function drawGates() {
  const text = demo.task === "text" && view ? view.text : null;
  const marker = !view ? null : demo.task === "text" ? view.prime : probe?.at ?? null;
  for (const canvas of document.querySelectorAll("canvas.gate")) {
    drawGate(canvas, canvas.dataset.gate, canvas.classList.contains("last"), view, marker, text);
  }
  if (view) demo.gatesDrawn++;
}

let frame = 0;
function schedule(...parts) {
  for (const p of parts) dirty[p] = true;
  if (!frame) frame = requestAnimationFrame(render);
}
function render() {
  frame = 0;
  if (dirty.loss) {
    dirty.loss = false;
    drawLoss($("loss-canvas"), { losses: demo.losses, epochLoss: demo.epochLoss, batchesPerEpoch: config?.batchesPerEpoch,
      waiting: demo.state === "loading" ? "starting the worker…" : "waiting for the first batch…" });
  }
  if (dirty.probe) { dirty.probe = false; if (demo.task === "sine") drawProbe($("probe-canvas"), probe, view); }
  if (dirty.gates) { dirty.gates = false; drawGates(); }
}
const everything = () => schedule("loss", "probe", "gates");
new ResizeObserver(everything).observe(document.querySelector("main"));
window.addEventListener("resize", everything);

// ---------------------------------------------------------------- the text task's sample

/** The sample: the prime in grey, the characters the heatmaps show underlined. */
function showSample(v) {
  const el = $("sample"), prime = v.text.slice(0, v.prime), gated = v.text.slice(v.prime, v.T), rest = v.text.slice(v.T);
  const span = (cls, s) => Object.assign(document.createElement("span"), { className: cls, textContent: s });
  el.replaceChildren(span("prime gated", prime), span("gated", gated), document.createTextNode(rest));
  el.title = `step ${v.steps} · temperature ${v.temperature.toFixed(2)}`;
  demo.text = v.text;
  demo.textTemperature = v.temperature;
  demo.samples++;
  const next = MILESTONES[demo.history.length];
  if (next !== undefined && v.steps >= next) {
    demo.history.push({ steps: v.steps, temperature: v.temperature, text: v.text });
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("span"), { className: "when", textContent: `step ${v.steps.toLocaleString("en")}` }),
      Object.assign(document.createElement("span"), { className: "what", textContent: v.text, title: `temperature ${v.temperature.toFixed(2)}` }));
    $("history").append(li);
  }
}

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

function setTask(task) {
  demo.task = task;
  document.body.dataset.task = task;
  for (const b of document.querySelectorAll(".tasks button")) b.setAttribute("aria-pressed", String(b.dataset.task === task));
  const url = new URL(location.href);
  url.searchParams.set("task", task);
  history.replaceState(null, "", url);
}

function onMessage(msg) {
  switch (msg.type) {
    case "ready":
      demo.backend = msg.backend;
      config = msg.config;
      probe = msg.probe ?? null;
      view = null;
      setTask(msg.task);
      $("backend").textContent = msg.backend;
      document.body.dataset.ready = "1";
      setState("running");
      if (msg.task === "text") send({ type: "temperature", value: demo.temperature });
      setStatus(msg.switched ? `${msg.task === "text" ? "text" : "sine wave"} task · a new model from seed ${demo.seed}`
        : `wasm backend ${msg.backend} ready in ${Math.round(msg.initMs)} ms · training in ${demo.worker ? "a Web Worker" : "the page (no module workers here)"}`);
      everything();
      break;
    case "reset":
      demo.losses = [];
      demo.epoch = 0; demo.steps = 0; demo.epochLoss = null; demo.seed = msg.seed;
      demo.text = ""; demo.textTemperature = null; demo.samples = 0; demo.history = [];
      $("history").replaceChildren();
      $("sample").textContent = "waiting for the first sample…";
      $("epoch").textContent = "0"; $("loss").textContent = "–";
      schedule("loss");
      break;
    case "progress":
      if (msg.task !== demo.task) break;
      for (const v of msg.losses) demo.losses.push(v);
      demo.epoch = msg.epoch; demo.steps = msg.steps; demo.epochLoss = msg.epochLoss; demo.stepsPerSec = msg.stepsPerSec;
      $("epoch").textContent = String(msg.epoch);
      $("loss").textContent = fmtLoss(msg.epochLoss ?? mean(demo.losses.slice(-16)));
      $("rate").title = `${Math.round(msg.samplesPerSec).toLocaleString("en")} sequences of ${config?.T ?? "?"} steps per second`;
      setState(msg.state);
      schedule("loss");
      break;
    case "view":
      if (msg.task !== demo.task) break;
      view = msg;
      if (msg.task === "text") showSample(msg);
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

async function startInPage(reason, task) {
  demo.worker = false;
  setStatus(`${reason}; training on the page instead`);
  const { createTrainer } = await import("./trainer.js");
  const trainer = createTrainer((m) => onMessage(m));
  send = (m) => trainer.handle(m);
  send({ type: "start", task, seed: seedValue() });
}

function start() {
  const params = new URLSearchParams(location.search);
  if (params.has("seed")) $("seed").value = String(Number(params.get("seed")) || 0);
  const task = TASKS.includes(params.get("task")) ? params.get("task") : "sine";
  setTask(task);
  let worker;
  try {
    worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  } catch (err) {
    startInPage(`could not start a module worker (${err?.message ?? err})`, task);
    return;
  }
  demo.worker = true;
  worker.onmessage = (e) => onMessage(e.data);
  worker.onerror = (e) => {
    e.preventDefault?.();
    if (demo.backend === null) {
      worker.terminate();
      startInPage("the module worker failed to start", task);
    } else setStatus(`worker error: ${e.message ?? "unknown"}`, true);
  };
  send = (m) => worker.postMessage(m);
  send({ type: "start", task, seed: seedValue() });
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
for (const b of document.querySelectorAll(".tasks button")) {
  b.addEventListener("click", () => {
    if (b.dataset.task === demo.task || demo.backend === null) return;
    setTask(b.dataset.task);
    view = null;
    send({ type: "task", task: b.dataset.task, seed: seedValue() });
    setState("running");
    setStatus(`switching to the ${b.dataset.task === "text" ? "text" : "sine wave"} task…`);
    everything();
  });
}
$("temperature").addEventListener("input", () => {
  const v = Number($("temperature").value);
  demo.temperature = v;
  $("temperature-value").textContent = v.toFixed(2);
  send({ type: "temperature", value: v });
});

demo.temperature = Number($("temperature").value);
$("temperature-value").textContent = demo.temperature.toFixed(2);
start();
everything();
