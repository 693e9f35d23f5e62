import { instantiate } from "@assemblyscript/loader";
import { LSTMError, describe } from "../errors";
import { checkKeys } from "../io";
import { Arena } from "./arena";
import { Workspace } from "./workspace";
import { RELAXED_SIMD_PROBE, SIMD_PROBE, THREADS_PROBE } from "./probe";
import { WASM } from "./embedded";
import { Pool, nodeBuiltin } from "../runtime/pool";

export type BackendName = "relaxed-simd" | "simd" | "scalar";
/** @internal A build: a backend, or a SIMD backend's thread-capable variant (shared, imported memory). */
export type BuildName = BackendName | "relaxed-simd-threads" | "simd-threads";
/** @internal */
export const BACKENDS: readonly BackendName[] = ["relaxed-simd", "simd", "scalar"];

type P = number; // a byte pointer into linear memory

/** @internal The ABI of assembly/index.ts; argument order and meaning are documented there. */
export interface Kernels {
  memory: WebAssembly.Memory;
  heap_base(): P;
  gemm(c: P, a: P, b: P, M: number, N: number, K: number, ars: number, acs: number, ldc: number, cps: number, accumulate: number): void;
  gemm_rm(c: P, pack: P, a: P, b: P, M: number, N: number, K: number, ars: number, acs: number, ldb: number, ldc: number, cps: number, accumulate: number): void;
  gemm_scratch_size(K: number, N: number): number;
  transpose_packed(dst: P, src: P, K: number, N: number): void;
  lstm_forward(y: P, ldy: number, h: P, c: P, act: P, cs: P, cp: P, hp: P, m: P, mts: number, x: P, ldx: number,
    wih: P, whh: P, bih: P, bhh: P, whr: P, pi: P, pf: P, po: P, lengths: P, mask: P,
    T: number, B: number, In: number, H: number, Hout: number, reverse: number, ract: number, sync: P, nth: number, tid: number): void;
  lstm_backward(dx: P, ldx: number, dh: P, dc: P, dwih: P, dwhh: P, dbih: P, dbhh: P, dwhr: P,
    dpi: P, dpf: P, dpo: P, da: P, dht: P, dm: P, dhs: P, pack: P, dy: P, ldy: number,
    x: P, act: P, cs: P, cp: P, hp: P, m: P, wih_t: P, whh_t: P, whr_t: P,
    pi: P, pf: P, po: P, lengths: P, mask: P, T: number, B: number, In: number, H: number, Hout: number,
    reverse: number, ract: number, sync: P, nth: number, tid: number): void;
  sum_squares(g: P, n: number): number;
  scale(g: P, n: number, k: number): void;
  clip_value(g: P, n: number, v: number): void;
  linear_forward(y: P, x: P, ldx: number, w: P, b: P, R: number, In: number, O: number, act: number): void;
  linear_backward(dx: P, dw: P, db: P, dz: P, pack: P, dy: P, y: P, x: P, ldx: number, w_t: P, R: number, In: number, O: number, act: number): void;
  embedding_forward(y: P, ids: P, W: P, R: number, E: number): void;
  embedding_backward(dW: P, dy: P, ids: P, R: number, E: number, paddingIdx: number): void;
  dropout_forward(y: P, mask: P, x: P, n: number, p: number, seed: number, stream: number, given: number): void;
  dropout_backward(dx: P, dy: P, mask: P, n: number): void;
  mse(d: P, p: P, y: P, mask: P, R: number, C: number, scale: number): number;
  softmax_xent(d: P, z: P, t: P, R: number, C: number, scale: number): number;
  sgd_step(p: P, g: P, v: P, n: number, lr: number, momentum: number, dampening: number, nesterov: number, wd: number, first: number): void;
  adam_step(p: P, g: P, m: P, v: P, n: number, step: number, b1: number, c1: number, b2: number, c2: number, eps: number, bc2: number, wd: number, decay: number, decoupled: number): void;
  orthonormalize_rows(q: P, n: number, len: number): void;
}

/**
 * @internal Floats of scratch gemm_rm (and so linear_backward and lstm_backward) needs for a
 * row-major B of K rows and N columns: gemm_scratch_size, with the sizes clamped to i32 so that
 * the closed-form byte counts that refuse huge calls never see a wrapped value.
 */
export function gemmScratch(k: Kernels, K: number, N: number): number {
  return k.gemm_scratch_size(Math.min(K, 0x7fffffff), Math.min(N, 0x7fffffff));
}

/** Every function export of a build; checked at load so a foreign module is refused clearly. */
const KERNEL_NAMES: readonly (keyof Kernels)[] = [
  "heap_base", "gemm", "gemm_rm", "gemm_scratch_size", "transpose_packed", "lstm_forward", "lstm_backward",
  "sum_squares", "scale", "clip_value", "linear_forward", "linear_backward", "embedding_forward", "embedding_backward",
  "dropout_forward", "dropout_backward", "mse", "softmax_xent",
  "sgd_step", "adam_step", "orthonormalize_rows",
];

/** @internal One instantiated build: its kernels, its memory and the arena over it. */
export class Backend {
  readonly arena: Arena;
  /** Scratch for calls on caller-owned data (clipping), reused between calls. */
  readonly scratch: Workspace;
  private f32view = new Float32Array(0);
  private i32view = new Int32Array(0);
  /** The worker pool of a thread-capable build (shared memory), or null: one thread. */
  pool: Pool | null = null;
  /** A thread-capable build's barrier words (see assembly/sync.ts), 0 otherwise. */
  sync = 0;


  /**
   * custom: loaded from `init({ wasm })` rather than the embedded bytes. module: the compiled
   * build, kept by thread-capable backends to start workers on it.
   */
  constructor(readonly name: BackendName, readonly k: Kernels, readonly custom = false, readonly module: WebAssembly.Module | null = null) {
    this.arena = new Arena(k.memory, k.heap_base());
    this.scratch = new Workspace(this, "clipping scratch");
    if (module) this.sync = this.arena.alloc(64, "thread barrier");
  }

  /** Threads in use: the pool's, else 1. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /**
   * The least work per time step, in multiply-adds of the recurrent product (B·4H·Hout), worth
   * splitting over threads: below it the barriers cost more than they save; and the least for a
   * whole call (T steps), below which waking the workers does (measured: see README, Threads).
   */
  minThreadWork = MIN_STEP_WORK;
  minCallWork = MIN_CALL_WORK;
  /** How long thread 0 waits at one barrier for a thread that does not come (a dead worker), in ms. */
  barrierTimeoutMs = 5000;

  /** Threads for a sequence kernel of T steps that do `work` multiply-adds each: the pool's, or 1. */
  threadsFor(work: number, T: number): number {
    // (A call meets at most 4T + 1 barriers; their arrivals are counted in one i32, sync.ts.)
    return this.pool && work >= this.minThreadWork && work * T >= this.minCallWork && (4 * T + 1) * this.pool.threads < 2 ** 31
      ? this.pool.threads : 1;
  }

  /**
   * Run a sequence kernel (its argument list ends with sync, nth, tid) on `nth` threads: through
   * the pool, each thread adding its index; on this thread alone when nth is 1.
   * @throws LSTMError when the pool failed (a worker died or timed out); later calls use one thread.
   */
  runKernel(name: "lstm_forward" | "lstm_backward", args: number[], nth: number): void {
    const fn = this.k[name] as (...a: number[]) => void, split = nth > 1 && this.pool !== null;
    args[args.length - 3] = split ? this.sync : 0;
    args[args.length - 2] = split ? nth : 1;
    args[args.length - 1] = 0; // thread 0: this one
    if (!split) { Reflect.apply(fn, undefined, args); return; } // (the engine calls one thread itself)
    const words = this.sync >>> 2, i32 = this.i32;
    i32[words] = 0; // no thread has arrived at a barrier, and nothing is aborted
    i32[words + 2] = 0;
    i32[words + 3] = this.barrierTimeoutMs;
    let failed: string | null = null;
    const abort = () => { const v = this.i32; Atomics.store(v, words + 2, 1); Atomics.notify(v, words); };
    try {
      this.pool!.run(fn, name, args.slice(0, -1), () => this.i32[words + 2] !== 0, abort);
    } catch (e) {
      failed = (e as Error).message;
    }
    if (!failed && this.i32[words + 2] !== 0) failed = "a thread gave up waiting for another at a barrier (a worker may have died)";
    if (failed) {
      this.pool!.terminate();
      this.pool = null;
      throw new LSTMError("threads", "every worker to finish the call (the pool is now shut down; later calls run on one thread)", failed);
    }
  }

  /** The whole memory as floats. Re-taken after memory.grow, which detaches old views. */
  get f32(): Float32Array {
    if (this.f32view.buffer !== this.k.memory.buffer) this.f32view = new Float32Array(this.k.memory.buffer);
    return this.f32view;
  }

  get i32(): Int32Array {
    if (this.i32view.buffer !== this.k.memory.buffer) this.i32view = new Int32Array(this.k.memory.buffer);
    return this.i32view;
  }
}

/**
 * WebAssembly.Module where the program's lib declares it (DOM, webworker), never where none does:
 * the declarations then type-check in Node projects without "dom" in lib (@types/node 20 has no WebAssembly).
 */
type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;

/** What a wasm build can be given as, for `init({ wasm })`: bytes (BufferSource without DOM's name), a Module or a URL. */
export type WasmSource = ArrayBuffer | ArrayBufferView<ArrayBuffer> | WasmModule | URL | string;

export interface InitOptions {
  /** Which build to use; 'auto' (the default) picks the best the runtime validates. */
  backend?: "auto" | BackendName;
  /** Your own copy of the chosen build (bytes, a compiled Module, or a URL to fetch), e.g. for a strict CSP. */
  wasm?: WasmSource;
  /**
   * Threads for the LSTM kernels: a number (1 to 64) or 'auto', min(4, ⌈cores / 2⌉), as
   * onnxruntime-web counts. The first init() defaults to 'auto'; later calls without it keep the
   * count. Where threads are impossible (no SharedArrayBuffer, a page that is not cross-origin
   * isolated, the scalar build, a custom `wasm`) it is 1, and init() says why.
   */
  threads?: number | "auto";
}
// Every key of InitOptions, listed once: an option added to the interface but not here is a compile error.
const INIT_KEYS = Object.keys({ backend: true, wasm: true, threads: true } satisfies Record<keyof InitOptions, true>);

/** What init() set up. */
export interface InitResult {
  backend: BackendName;
  /** Threads the LSTM kernels of models created from now on use (small calls still run on one). */
  threads: number;
  /** Why threads is 1 when more were asked for (or 'auto' found more cores), else absent. */
  threadsReason?: string;
}

const loaded = new Map<BuildName, Backend>();
let current: Backend | null = null;
/** This module's own URL, the script pool workers load in a browser. */
const MODULE_URL: string | null = (() => { try { return import.meta.url; } catch { return null; } })();

/** The best build this runtime can compile, by validating the probe modules. */
export function detectBackend(): BackendName {
  if (typeof WebAssembly !== "object") throw new LSTMError("runtime", "WebAssembly support", "a runtime without WebAssembly");
  if (WebAssembly.validate(RELAXED_SIMD_PROBE)) return "relaxed-simd";
  if (WebAssembly.validate(SIMD_PROBE)) return "simd";
  return "scalar";
}

/** Why this runtime cannot run `name` on several threads, or null when it can. */
function noThreads(name: BackendName, custom: boolean): string | null {
  if (name === "scalar") return "the scalar build runs on one thread (threads need wasm SIMD)";
  if (custom) return "a build given as options.wasm runs on one thread";
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) return "the page is not cross-origin isolated (it needs the COOP and COEP headers)";
  if (typeof SharedArrayBuffer !== "function") return "this runtime has no SharedArrayBuffer";
  if (!WebAssembly.validate(THREADS_PROBE)) return "this runtime has no WebAssembly threads (shared memory)";
  const node = typeof process === "object" && typeof process.versions?.node === "string";
  if (node && !nodeBuiltin("worker_threads")) return "this Node has no process.getBuiltinModule (Node 20.16 or later has it)";
  if (!node && typeof Worker !== "function") return "this runtime has no Worker";
  return null;
}

/** The machine's cores (logical processors). */
function cores(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (typeof nav?.hardwareConcurrency === "number" && nav.hardwareConcurrency > 0) return nav.hardwareConcurrency;
  const os = nodeBuiltin<typeof import("node:os")>("os");
  return os ? os.availableParallelism?.() ?? os.cpus().length : 1;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function compile(name: BackendName, src: WasmSource | undefined, build: BuildName = name): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  let bytes: BufferSource;
  if (src === undefined) bytes = decodeBase64(WASM[build]);
  else if (typeof src === "string" || src instanceof URL) {
    let res: Response;
    try {
      res = await fetch(src);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bytes = await res.arrayBuffer();
    } catch (e) {
      throw new LSTMError("options.wasm", "a URL that serves the .wasm file", `${describe(String(src))}: ${(e as Error).message}`);
    }
  } else if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) bytes = src;
  else throw new LSTMError("options.wasm", "bytes, a WebAssembly.Module or a URL", describe(src));
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    const msg = (e as Error).message;
    if (src !== undefined) throw new LSTMError("options.wasm", `an lstm-wasm '${name}' build this runtime can compile`, `bytes it rejected: ${msg}`);
    throw new LSTMError("options.backend", `a build this runtime supports (it rejected '${build}')`, `'${build}': ${msg}`);
  }
}

/** A loaded build: the single-thread one, or the thread-capable one over a new shared memory. */
async function load(name: BackendName, wasm: WasmSource | undefined, threaded: boolean): Promise<Backend> {
  const build: BuildName = threaded ? `${name as "simd" | "relaxed-simd"}-threads` : name;
  const mod = await compile(name, wasm, build);
  const missing = KERNEL_NAMES.filter((k) => !WebAssembly.Module.exports(mod).some((e) => e.name === k && e.kind === "function"));
  if (!threaded && !WebAssembly.Module.exports(mod).some((e) => e.name === "memory" && e.kind === "memory")) missing.unshift("memory" as keyof Kernels);
  if (missing.length) throw new LSTMError("options.wasm", "an lstm-wasm build exporting every kernel", `a module without ${missing.join(", ")}`);
  // A thread-capable build imports its memory: one shared WebAssembly.Memory for every thread,
  // 4 MB to start (above what the build's data needs), able to grow to wasm32's 4 GiB.
  const memory = threaded ? new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true }) : null;
  // The loader supplies a debug build's abort() with its message and source location; the
  // kernels are then called as the instance exports them: the loader's wrappers take rest
  // parameters, which allocate on every call V8 does not inline (the hot paths allocate nothing).
  const { instance } = await instantiate(mod, (memory ? { env: { memory, now: () => performance.now() } } : {}) as Parameters<typeof instantiate>[1]);
  const k = (memory ? { ...instance.exports, memory } : instance.exports) as unknown as Kernels;
  return new Backend(name, k, wasm !== undefined, threaded ? mod : null);
}

/**
 * Load a WebAssembly build, once, and start its threads. Later calls with the same or no backend
 * and no threads are no-ops; a call naming another backend (or thread count) switches what models
 * created afterwards use. Models already created keep their build; on a thread-capable build they
 * use its current thread count from their next call.
 * @param opts.backend 'auto' (default), 'relaxed-simd', 'simd' or 'scalar'.
 * @param opts.threads a number or 'auto' (the first call's default).
 * @returns the backend and thread count in use, and why threads are fewer than asked.
 * @throws LSTMError for an unknown option or backend, or a backend the runtime cannot compile.
 * @example
 * const { backend, threads } = await init();   // 'relaxed-simd' on Node 22+ and Chrome
 * await init({ backend: 'scalar' });            // force the portable build
 * await init({ threads: 4 });                   // four threads (shared memory; in a page, cross-origin isolation)
 */
export async function init(opts: InitOptions = {}): Promise<InitResult> {
  if (opts === null || typeof opts !== "object") throw new LSTMError("options", "an object or nothing", describe(opts));
  checkKeys("options", opts, INIT_KEYS);
  const want = opts.backend ?? "auto", wasm = opts.wasm, wantThreads = opts.threads;
  if (want !== "auto" && !BACKENDS.includes(want)) {
    throw new LSTMError("options.backend", `one of 'auto', ${BACKENDS.map((b) => `'${b}'`).join(", ")}`, describe(want));
  }
  if (wantThreads !== undefined && wantThreads !== "auto" && !(typeof wantThreads === "number" && Number.isInteger(wantThreads) && wantThreads >= 1 && wantThreads <= 64)) {
    throw new LSTMError("options.threads", "an integer from 1 to 64, or 'auto'", describe(wantThreads));
  }
  if (current && wasm === undefined && !current.custom && wantThreads === undefined && (want === "auto" || want === current.name)) {
    return { backend: current.name, threads: current.threads };
  }
  const name = want === "auto" ? detectBackend() : want;
  // Without the option, the count asked for last (at first 'auto'), also across a change of backend.
  const asked = wantThreads ?? askedThreads;
  let n = asked === "auto" ? Math.min(4, Math.ceil(cores() / 2)) : asked;
  let reason: string | undefined;
  const why = n > 1 ? noThreads(name, wasm !== undefined) : null;
  if (why) { reason = why; n = 1; }
  let be: Backend;
  if (n > 1) {
    be = loaded.get(`${name as "simd"}-threads`) ?? (await load(name, undefined, true));
    loaded.set(`${name as "simd"}-threads`, be);
    if (be.threads !== n) {
      be.pool?.terminate();
      be.pool = null;
      try {
        be.pool = await Pool.start(n, be.module!, be.k.memory, POOL_KERNELS, MODULE_URL);
      } catch (e) {
        reason = (e as Error).message;
      }
    }
  } else {
    const threaded = loaded.get(`${name as "simd"}-threads`);
    if (threaded?.pool) { threaded.pool.terminate(); threaded.pool = null; } // its models go on, on one thread
    be = (wasm === undefined ? loaded.get(name) : undefined) ?? (await load(name, wasm, false));
    if (wasm === undefined) loaded.set(name, be);
  }
  current = be;
  askedThreads = asked;
  return reason === undefined ? { backend: name, threads: be.threads } : { backend: name, threads: be.threads, threadsReason: reason };
}

// The threads the last init() asked for.
let askedThreads: number | "auto" = "auto";

// Where two threads start to pay on this machine (2-core Xeon, Node 20, simd build): at 64K
// multiply-adds per step (B = 1, H = 128) a 100-step forward gains 13 %, a 10-step one loses 12 %;
// a one-step call of 2M (B = 8, H = 256) loses 4 %. Set a step above the first and a call above the last.
const MIN_STEP_WORK = 1 << 17;
const MIN_CALL_WORK = 1 << 22;

/** @internal The kernels a pool runs (the rest always run on the calling thread). */
export const POOL_KERNELS = ["lstm_forward", "lstm_backward"];

/** @internal The backend new objects use, or an LSTMError when init() has not finished. */
export function backend(): Backend {
  if (!current) throw new LSTMError("init", "`await init()` before creating models or calling kernels", "no initialised backend");
  return current;
}
