// PyTorch (native, CPU, one thread) through a Python child process: torch.nn.LSTM with the same
// weights, checked like every peer. It times itself (peers/torch_peer.py, the procedure of
// ../lib/timing.mjs), so no process round trip is inside a timed call. Optional: when no Python with
// torch is found (PYTHON, else python3 on PATH, else /usr/bin/python3), its rows are listed as skipped.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./torch_peer.py", import.meta.url));
const b64 = (f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
const f32 = (s) => { const b = Buffer.from(s, "base64"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice(); };

function findPython() {
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3"].filter(Boolean)) {
    const r = spawnSync(py, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  return null;
}

let child = null, lines = null;
async function call(msg) {
  child.stdin.write(JSON.stringify(msg) + "\n");
  const { value, done } = await lines.next();
  if (done) throw new Error("the PyTorch process exited");
  const r = JSON.parse(value);
  if (r.error) throw new Error(r.error);
  return r;
}

const found = findPython();
export const torchInfo = { found: !!found, version: found?.version ?? null, blas: null };

export const torch = {
  name: "pytorch",
  get backend() { return `native ${torchInfo.blas ?? "CPU"}`; },
  supports: (wl, mode) => (!found ? "no python3 with torch found (set PYTHON)" : mode === "step" ? "not measured (per-call Python overhead)" : true),
  async prepare({ wl, mode, sd, x }) {
    if (!child) {
      child = spawn(found.py, [SCRIPT], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" } });
      lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const hello = await call({ cmd: "hello" });
      torchInfo.blas = hello.blas;
      if (hello.threads !== 1) throw new Error(`torch runs ${hello.threads} threads, not 1`);
    }
    const weights = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, b64(t.data)]));
    if (wl.kind === "char") {
      const { B, T, V, E, H } = wl;
      const r = await call({ cmd: "setup_char", B, T, V, E, H, sd: weights, ids: b64(x.ids), targets: b64(x.targets) });
      const outputs = async () => ({ loss: Float32Array.of(r.loss), grads: Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, f32(v)])) });
      return { outputs, timed: async (timing) => (await call({ cmd: "time", timing })).samples, dispose: () => {} };
    }
    const { B, T, I, H } = wl;
    const r = await call({ cmd: "setup", mode, B, T, I, H, sd: weights, x: b64(x) });
    const outputs = async () => (mode === "train"
      ? { grads: Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, f32(v)])) }
      : { y: f32(r.y), hn: f32(r.hn), cn: f32(r.cn) });
    const timed = async (timing) => (await call({ cmd: "time", timing })).samples;
    return { outputs, timed, dispose: () => {} };
  },
};

/** Ends the child (the runner calls this when done). */
export function closeTorch() {
  if (child) { child.stdin.end(); child.kill(); child = null; }
}
