import { LSTMError } from "../errors";
import { MAX_BYTES } from "./arena";
import type { Backend } from "./backend";

const ALIGN = 16; // floats (64 bytes)

/**
 * Named float buffers laid out in one arena block that is kept between calls and grows only when a
 * call needs more, so steady-state calls allocate nothing. Contents do not survive a regrowth.
 */
export class Workspace {
  ptr = 0;
  private bytes = 0;

  constructor(private readonly be: Backend, private readonly what: string) {}

  /** Byte pointers for buffers of the given float counts (0 gives pointer 0: "absent"). */
  plan<K extends string>(sizes: Record<K, number>): Record<K, number> {
    const off = {} as Record<K, number>;
    let at = 0;
    for (const k in sizes) {
      const n = sizes[k];
      off[k] = n > 0 ? at : -1;
      at += Math.ceil(n / ALIGN) * ALIGN;
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
    for (const k in off) off[k] = off[k] < 0 ? 0 : this.ptr + off[k] * 4;
    return off;
  }

  free(): void {
    if (this.bytes > 0) this.be.arena.release(this.ptr);
    this.ptr = 0;
    this.bytes = 0;
  }
}
