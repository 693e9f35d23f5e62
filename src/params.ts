// A layer's parameters and their gradients: two blocks of wasm memory with one layout (see
// layout.ts), converted to and from PyTorch's names, shapes and orientation at this boundary only.
import { LSTMError, describe } from "./errors";
import { type Tensor, type TensorLike, toTensor, intact } from "./tensor";
import type { Backend } from "./wasm/backend";
import { type ParamEntry, writeEntry, readEntry } from "./layout";
import { finite } from "./io";

/** A validated state dict, written by write() after check() (see ParamBlock.prepare). */
export interface PreparedLoad { check(): void; write(): void }

export class ParamBlock {
  params: number;
  grads: number;
  /** Whether this block frees its memory itself (false once moved into a model's shared block). */
  private owned = true;
  get ownsMemory(): boolean { return this.owned; }

  constructor(readonly be: Backend, readonly entries: ParamEntry[], readonly total: number) {
    this.params = be.arena.alloc(total * 4, "parameters");
    try {
      this.grads = be.arena.alloc(total * 4, "gradients");
    } catch (e) {
      be.arena.release(this.params);
      throw e;
    }
    const heap = be.f32;
    heap.fill(0, this.params >>> 2, (this.params >>> 2) + total);
    heap.fill(0, this.grads >>> 2, (this.grads >>> 2) + total);
  }

  /** Fill every tensor from `draw(entry)`, which returns PyTorch-layout values. */
  init(draw: (e: ParamEntry) => Float32Array): void {
    for (const e of this.entries) writeEntry(e, draw(e), this.be.f32, this.params >>> 2);
  }

  /** Fresh PyTorch-layout tensors of the parameters (or of the gradients). */
  read(grads = false): Record<string, Tensor> {
    const heap = this.be.f32, base = (grads ? this.grads : this.params) >>> 2;
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) out[e.name] = { data: readEntry(e, heap, base), shape: e.shape.slice() };
    return out;
  }

  /** Replace every parameter; all keys required, none unknown; validated before anything is written. */
  load(dict: Record<string, TensorLike>, what = "stateDict", checkFinite = false): void {
    const w = this.prepare(dict, what, checkFinite);
    w.check();
    w.write();
  }

  /**
   * Validate a state dict for this block. Nothing is written until `write()`; `check()` first
   * confirms no array was detached since (by a later key's getter), so a model of several layers
   * checks them all before writing any.
   */
  prepare(dict: unknown, what = "stateDict", checkFinite = false, prefix = ""): PreparedLoad {
    if (dict === null || typeof dict !== "object" || Array.isArray(dict)) throw new LSTMError(what, "an object of named tensors", describe(dict));
    const names = new Set(this.entries.map((e) => e.name));
    for (const key of Object.keys(dict)) {
      if (!names.has(key)) throw new LSTMError(`${what}["${prefix}${key}"]`, names.size ? `only the keys ${[...names].join(", ")}` : "no keys (this layer has no parameters)", "an unknown key");
    }
    const d = dict as Record<string, unknown>;
    const values = this.entries.map((e) => {
      const at = `${what}["${prefix}${e.name}"]`;
      if (!Object.prototype.hasOwnProperty.call(d, e.name)) throw new LSTMError(at, `a tensor of shape [${e.shape.join(",")}]`, "a missing key");
      const data = toTensor(at, d[e.name], e.shape).data;
      if (checkFinite) finite(at, data);
      return data;
    });
    return {
      check: () => this.entries.forEach((e, i) => intact(`${what}["${prefix}${e.name}"]`, values[i], e.size)),
      write: () => {
        const heap = this.be.f32;
        this.entries.forEach((e, i) => writeEntry(e, values[i], heap, this.params >>> 2));
      },
    };
  }

  zeroGrad(): void {
    const g = this.grads >>> 2;
    this.be.f32.fill(0, g, g + this.total);
  }

  /** Move both blocks to caller-owned memory (a model's one shared block), keeping the values. */
  moveTo(params: number, grads: number): void {
    const heap = this.be.f32;
    heap.copyWithin(params >>> 2, this.params >>> 2, (this.params >>> 2) + this.total);
    heap.copyWithin(grads >>> 2, this.grads >>> 2, (this.grads >>> 2) + this.total);
    this.free();
    this.params = params;
    this.grads = grads;
    this.owned = false;
  }

  free(): void {
    if (!this.owned) return;
    this.be.arena.release(this.params);
    this.be.arena.release(this.grads);
    this.owned = false;
  }
}
