// Typed arrays and buffers from callers, inspected through the engine's own accessors, captured
// when this module loads. An instance can carry an own `length` or `buffer` property, or a swapped
// prototype, and `instanceof` would believe it; these accessors read the internal slots, which are
// also what `TypedArray.prototype.set` copies. Nothing here allocates (forward's and step()'s hot paths).

const TA = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (o: object, k: PropertyKey) => Object.getOwnPropertyDescriptor(o, k)?.get;
const taTag = getter(TA, Symbol.toStringTag)!;
const taLength = getter(TA, "length")!;
const taBuffer = getter(TA, "buffer")!;
const taByteOffset = getter(TA, "byteOffset")!;
const taByteLength = getter(TA, "byteLength")!;
const taSet = (TA as { set: (this: ArrayBufferView, src: ArrayLike<number>, offset?: number) => void }).set;
// Absent on engines without resizable / growable buffers: then no buffer can change length.
const abResizable = getter(ArrayBuffer.prototype, "resizable");
const abByteLength = getter(ArrayBuffer.prototype, "byteLength")!;
const sabGrowable = typeof SharedArrayBuffer === "function" ? getter(SharedArrayBuffer.prototype, "growable") : undefined;

/** The real class name of a typed array ("Float32Array", …), or undefined for anything else (a Proxy too). */
export function typedKind(v: unknown): string | undefined {
  return taTag.call(v) as string | undefined;
}

/** A typed array's element count from its internal slot (0 once its buffer is detached). */
export function lengthOf(a: ArrayBufferView): number {
  return taLength.call(a) as number;
}

/** Whether an ArrayBuffer is the real thing (not a look-alike object). */
export function isArrayBuffer(v: unknown): v is ArrayBuffer {
  try {
    abByteLength.call(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a typed array's buffer can change its length: a resizable ArrayBuffer, or a growable
 * SharedArrayBuffer (another thread may grow it at any moment). Such arrays are refused: a length
 * checked at validation would not bind the copy made later.
 */
export function resizableBuffer(a: ArrayBufferView): boolean {
  const b = taBuffer.call(a) as ArrayBufferLike;
  if (isArrayBuffer(b)) return abResizable !== undefined && (abResizable.call(b) as boolean);
  return sabGrowable !== undefined && (sabGrowable.call(b) as boolean);
}

/** A real Float32Array over a buffer whose length cannot change (what every tensor's data must be). */
export function isF32(v: unknown): v is Float32Array {
  return taTag.call(v) === "Float32Array" && !resizableBuffer(v as Float32Array);
}

/** A fresh Uint8Array over exactly the bytes of a typed array, built from its internal slots. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(taBuffer.call(a) as ArrayBuffer, taByteOffset.call(a) as number, taByteLength.call(a) as number);
}

/**
 * dst.set(src, offset) through the engine's own method: a caller's array may carry its own `set`
 * (or no prototype), and handing it a view of wasm memory would let it write anywhere there.
 */
export function setInto(dst: ArrayBufferView, src: ArrayLike<number>, offset = 0): void {
  taSet.call(dst, src, offset);
}

/** Whether this engine's typed arrays are little-endian (as safetensors and TF.js weight files are). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
