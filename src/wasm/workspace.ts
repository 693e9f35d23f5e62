import { LSTMError } from "../errors";
import { MAX_BYTES } from "./arena";
import type { Backend } from "./backend";

const ALIGN = 16; // floats (64 bytes)

/** Buffer sizes in floats: one buffer, or one per layer (or direction). */
export type Sizes = Record<string, number | readonly number[]>;
/** The byte pointers of a plan, shaped as its sizes. */
export type Ptrs<S extends Sizes> = { readonly [K in keyof S]: S[K] extends number ? number : readonly number[] };

/**
 * Named float buffers laid out in one arena block that is kept between calls and grows only when a
 * call needs more, so steady-state calls allocate nothing. Contents do not survive a regrowth.
 */
export class Workspace {
  ptr = 0;
  private bytes = 0;

  constructor(private readonly be: Backend, private readonly what: string) {}

  /** The bytes plan(sizes) lays out, computed without allocating (to refuse a call before any buffer grows). */
  static bytes(sizes: Sizes): number {
    let at = 0;
    for (const k in sizes) {
      const n = sizes[k];
      for (const m of typeof n === "number" ? [n] : n) at += Math.ceil(m / ALIGN) * ALIGN;
    }
    return at * 4;
  }

  /**
   * Byte pointers for buffers of the given float counts, keyed as the sizes are: a number gives a
   * pointer, a list (one buffer per layer, say) a list of pointers. A size of 0 gives pointer 0,
   * "absent". The result is typed by the keys given, so a misspelt buffer is a compile error.
   */
  plan<S extends Sizes>(sizes: S): Ptrs<S> {
    let at = 0;
    const place = (n: number) => { const off = n > 0 ? at : -1; at += Math.ceil(n / ALIGN) * ALIGN; return off; };
    const off: Record<string, number | number[]> = {};
    for (const k in sizes) {
      const n = sizes[k];
      off[k] = typeof n === "number" ? place(n) : n.map(place);
    }
    const bytes = at * 4;
    if (bytes > MAX_BYTES) {
      throw new LSTMError(this.what, `sizes whose buffers fit in wasm32's ${MAX_BYTES} bytes`, `sizes needing ${bytes} bytes`);
    }
    if (bytes > this.bytes) {
      const p = this.be.arena.alloc(bytes, this.what); // before freeing: a refusal keeps the old block
      this.free();
      this.ptr = p;
      this.bytes = bytes;
    }
    const abs = (o: number) => (o < 0 ? 0 : this.ptr + o * 4);
    for (const k in off) {
      const o = off[k];
      off[k] = typeof o === "number" ? abs(o) : o.map(abs);
    }
    return off as Ptrs<S>;
  }

  free(): void {
    if (this.bytes > 0) this.be.arena.release(this.ptr);
    this.ptr = 0;
    this.bytes = 0;
  }
}
