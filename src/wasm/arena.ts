import { LSTMError } from "../errors";

const ALIGN = 64; // a cache line; also keeps every v128 load aligned when offsets are
const PAGE = 65536;
/** wasm32 addresses 4 GiB at most. */
export const MAX_BYTES = 65536 * PAGE;

/**
 * First-fit allocator over the module's linear memory. JS owns allocation: kernels only get
 * pointers. Freed blocks coalesce with their neighbours; memory grows only when no block fits.
 */
export class Arena {
  private readonly free = new Map<number, number>(); // ptr -> size, both ALIGN multiples
  private readonly used = new Map<number, number>();
  private top: number; // first byte never handed out

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** Bytes currently handed out. */
  get inUse(): number {
    let s = 0;
    for (const n of this.used.values()) s += n;
    return s;
  }

  /** A block of at least `bytes`, aligned to 64. Throws LSTMError when it cannot fit in 4 GiB. */
  alloc(bytes: number, what = "buffer"): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (const [p, n] of this.free) {
      if (n < size) continue;
      this.free.delete(p);
      if (n > size) this.free.set(p + size, n - size);
      this.used.set(p, size);
      return p;
    }
    // No free block fits: take a free block touching the top, if any, and extend it.
    let p = this.top;
    for (const [q, n] of this.free) if (q + n === this.top) { p = q; this.free.delete(q); break; }
    const end = p + size;
    if (end > MAX_BYTES) {
      if (p !== this.top) this.free.set(p, this.top - p);
      throw new LSTMError(what, `at most ${MAX_BYTES} bytes of wasm memory in all (wasm32)`,
        `a request needing ${end} bytes (${size} for this ${what})`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        if (p !== this.top) this.free.set(p, this.top - p);
        throw new LSTMError(what, `${end} bytes of wasm memory`, `a refusal from the runtime to grow memory past ${have} bytes`);
      }
    }
    this.top = Math.max(this.top, end);
    this.used.set(p, size);
    return p;
  }

  /** Return a block; unknown or repeated pointers are ignored. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) return;
    this.used.delete(ptr);
    let p = ptr, n = size;
    const after = this.free.get(p + n);
    if (after !== undefined) { this.free.delete(p + n); n += after; }
    for (const [q, m] of this.free) if (q + m === p) { this.free.delete(q); p = q; n += m; break; }
    this.free.set(p, n);
  }
}
