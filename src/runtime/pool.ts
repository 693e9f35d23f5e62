// Threads: workers that instantiate the same thread-capable build over one shared
// WebAssembly.Memory and run kernels on pointers the main thread gives them. The main thread owns
// the arena and all planning; a call is dispatched by writing the kernel's index and arguments
// into a small shared control block and waking the workers; every thread (the main one as thread
// 0) runs the same kernel with its own thread index, and the kernel splits the work by output
// ranges, meeting at barriers in wasm (assembly/sync.ts). Nothing is summed in a different order
// for a different thread count, so results are bit-identical to one thread.
//
// Workers are started from this library's own module (a same-origin script, so a strict
// `worker-src 'self'` allows it): in a browser the module is loaded again as a module Worker named
// POOL_NAME, which installs the worker loop and then stops the rest of the script from running
// (a bundled app's own code after it never runs there). In Node the worker is a short script
// evaluated by worker_threads (no CSP there), unref'd so it never keeps a process alive.

/** The name a pool worker is started with; this module recognises it when it is loaded in one. */
export const POOL_NAME = "lstm-wasm-pool";

// Control block (Int32Array over a SharedArrayBuffer): the job generation, how many workers have
// finished it, the kernel's index and argument count, quit and fault flags.
const GEN = 0, DONE = 1, KERNEL = 2, NARGS = 3, QUIT = 4, FAULT = 5, CTRL = 8;
const MAX_ARGS = 64;
/** How long the main thread waits for the workers to finish a call before it gives up on the pool. */
const CALL_TIMEOUT_MS = 10_000;

/** What a worker is given to start: the module, the shared memory, the control block and the kernels' names. */
interface WorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrl: SharedArrayBuffer; args: SharedArrayBuffer; names: string[]; tid: number }

/**
 * The worker's loop, as source text: it runs in a browser module Worker (this module, recognised
 * by its name) and, evaluated, in a Node worker_threads Worker. `post` sends to the main thread.
 */
function workerLoop(init: WorkerInit, post: (m: unknown) => void): void {
  WebAssembly.instantiate(init.module, { env: { memory: init.memory, now: performance.now.bind(performance), abort() { throw new Error("abort"); } } }).then((inst) => {
    const ex = inst.exports as Record<string, (...a: number[]) => unknown>;
    const fns = init.names.map((n) => ex[n]);
    const ctrl = new Int32Array(init.ctrl), args = new Float64Array(init.args);
    // The generation is read before `ready`: the first job may be dispatched as soon as it arrives.
    let gen = Atomics.load(ctrl, 0);
    post({ ready: true });
    for (;;) {
      Atomics.wait(ctrl, 0, gen);
      gen = Atomics.load(ctrl, 0);
      if (Atomics.load(ctrl, 4)) return;
      const n = ctrl[3], a: number[] = new Array(n + 1);
      for (let i = 0; i < n; i++) a[i] = args[i];
      a[n] = init.tid;
      // A call split over fewer threads than the pool has (its last argument, nth) leaves the rest out.
      if (init.tid < a[n - 1]) {
        try { fns[ctrl[2]](...a); } catch {
          // Abort the call's barriers (sync, the argument before nth: word [2]; sleepers wait on
          // word [0]) so no thread waits for this one.
          const w = a[n - 2] >>> 2, mem = new Int32Array(init.memory.buffer);
          Atomics.store(mem, w + 2, 1);
          Atomics.notify(mem, w);
          Atomics.store(ctrl, 5, 1);
        }
      }
      Atomics.add(ctrl, 1, 1);
      Atomics.notify(ctrl, 1);
    }
  }, (e: unknown) => post({ error: String((e as Error)?.message ?? e) }));
}

// ------------------------------------------------------------------ in a browser pool worker

const STOP = "lstm-wasm pool worker: the rest of this script does not run in a pool worker";
declare const WorkerGlobalScope: unknown;
const inPoolWorker = typeof WorkerGlobalScope === "function" && typeof self === "object" && (self as unknown as { name?: string }).name === POOL_NAME;
if (inPoolWorker) {
  const scope = self as unknown as { onmessage: unknown; postMessage(m: unknown): void; addEventListener(t: string, f: (e: { message?: string; preventDefault(): void }) => void): void };
  scope.addEventListener("error", (e) => { if ((e.message ?? "").includes(STOP)) e.preventDefault(); });
  scope.onmessage = (e: { data: WorkerInit }) => { scope.onmessage = null; workerLoop(e.data, (m) => scope.postMessage(m)); };
  // Stops the evaluation of whatever this module was bundled with; the loop above stays installed.
  throw new Error(STOP);
}

// ------------------------------------------------------------------ the main thread

/** A started pool: `threads` threads in all, the main thread being thread 0. */
export class Pool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private broken: string | null = null;

  private constructor(readonly threads: number, private readonly workers: { terminate(): unknown }[], ctrlBuf: SharedArrayBuffer,
    argsBuf: SharedArrayBuffer, private readonly names: string[]) {
    this.ctrl = new Int32Array(ctrlBuf);
    this.args = new Float64Array(argsBuf);
  }

  /**
   * Start `threads − 1` workers on `module` over the shared `memory`. Resolves when every worker
   * has instantiated the module (so no instantiation re-applies data segments while kernels run).
   * @throws Error with the reason when a worker cannot start (the caller falls back to one thread).
   */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], moduleUrl: string | null): Promise<Pool> {
    const ctrl = new SharedArrayBuffer(CTRL * 4), args = new SharedArrayBuffer(MAX_ARGS * 8);
    const workers: { terminate(): unknown }[] = [];
    // Every start is waited for, so a worker that starts after another failed is stopped too.
    const started = await Promise.allSettled(Array.from({ length: threads - 1 }, (_, i) => spawn({ module, memory, ctrl, args, names, tid: i + 1 }, moduleUrl)));
    for (const r of started) if (r.status === "fulfilled") workers.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      for (const w of workers) w.terminate();
      throw failed.reason;
    }
    return new Pool(threads, workers, ctrl, args, names);
  }

  /**
   * Run kernel `name` on every thread with `args` (each thread also gets its index, last), the
   * main thread taking part as thread 0; the last argument is the threads the call is split over
   * (threads from that index on sit it out). Returns when all have finished. `abort()` makes the
   * other threads leave the call's barriers (when this thread's kernel throws), `aborted()` tells
   * whether a thread did so.
   * @throws Error when a worker does not finish in time or a kernel faulted; the pool is then unusable.
   */
  run(fn: (...a: number[]) => unknown, name: string, args: ArrayLike<number>, aborted: () => boolean, abort: () => void): void {
    if (this.broken) throw new Error(this.broken);
    const c = this.ctrl, n = args.length;
    for (let i = 0; i < n; i++) this.args[i] = args[i];
    c[KERNEL] = this.names.indexOf(name);
    c[NARGS] = n;
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    let err: unknown = null;
    try {
      fn(...Array.from(args), 0); // the argument list plus this thread's index (0)
    } catch (e) {
      err = e;
      abort();
    }
    // The main thread of a page may not block: it spins, checking the time now and then.
    const want = this.threads - 1, t0 = performance.now();
    for (let spins = 0; Atomics.load(c, DONE) < want; spins++) {
      // (After this thread's own fault the workers leave the aborted call and finish: wait for them.)
      if ((spins & 1023) === 1023 && ((err === null && aborted()) || performance.now() - t0 > CALL_TIMEOUT_MS)) {
        this.broken = aborted() ? "a thread gave up waiting for another at a barrier (a worker may have died)"
          : `a worker did not finish a call within ${CALL_TIMEOUT_MS / 1000} s (it may have died)`;
        this.terminate();
        throw new Error(this.broken);
      }
    }
    if (err) throw err;
    if (Atomics.load(c, FAULT)) {
      this.broken = "a kernel faulted in a worker";
      this.terminate();
      throw new Error(this.broken);
    }
  }

  /** Stop every worker. */
  terminate(): void {
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.broken ??= "the thread pool was shut down";
  }
}

/**
 * A Node built-in module, through process.getBuiltinModule (Node 20.16+): not an import, so the
 * bundle imports nothing and bundlers for the browser see nothing to resolve. Undefined elsewhere.
 */
export function nodeBuiltin<M>(name: string): M | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof p?.getBuiltinModule === "function" ? (p.getBuiltinModule(name) as M) : undefined;
}

/** Start one worker and wait for it to instantiate the module. */
async function spawn(init: WorkerInit, moduleUrl: string | null): Promise<{ terminate(): unknown }> {
  const node = nodeBuiltin<typeof import("node:worker_threads")>("worker_threads");
  if (node) {
    const { Worker } = node;
    const w = new Worker(`const { workerData, parentPort } = process.getBuiltinModule("worker_threads");\n(${workerLoop.toString()})(workerData, (m) => parentPort.postMessage(m));`,
      { eval: true, workerData: init });
    const onError = (e: Error) => fail?.(String(e.message)), onExit = (c: number) => fail?.(`exited with code ${c}`);
    let fail: ((why: string) => void) | undefined, listener: ((m: unknown) => void) | undefined;
    w.on("error", onError).on("exit", onExit);
    const started = await ready(w, (f) => w.on("message", (listener = f)), (f) => { fail = f; });
    // A message listener keeps Node's event loop alive even after unref(): the pool must not.
    w.off("message", listener!).off("error", onError).off("exit", onExit);
    w.unref();
    return started;
  }
  if (typeof Worker !== "function") throw new Error("this runtime has no Worker");
  if (!moduleUrl) throw new Error("the URL of the library's own module is unknown, so no worker can load it");
  const w = new Worker(moduleUrl, { type: "module", name: POOL_NAME });
  const started = ready(w, (f) => w.addEventListener("message", (e) => f(e.data)), (f) => w.addEventListener("error", (e) => f(e.message || "the worker script failed to load")));
  w.postMessage(init);
  return started;
}

function ready<W extends { terminate(): unknown }>(w: W, onMessage: (f: (m: unknown) => void) => void, onError: (f: (why: string) => void) => void): Promise<W> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { w.terminate(); reject(new Error("a worker did not start within 10 s")); }, 10_000);
    (timer as { unref?: () => void }).unref?.();
    onMessage((m) => {
      const msg = m as { ready?: boolean; error?: string };
      clearTimeout(timer);
      if (msg.ready) resolve(w);
      else { w.terminate(); reject(new Error(`a worker could not instantiate the build: ${msg.error}`)); }
    });
    onError((why) => { clearTimeout(timer); reject(new Error(`a worker failed to start: ${why}`)); });
  });
}
