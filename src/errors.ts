import { typedKind, lengthOf } from "./typed";

/**
 * The one error type the library throws for bad arguments and misuse. Its message names the
 * argument, what was expected and what was received; the same three are fields for programs.
 * @example
 * try { lstm.forward(x) } catch (e) { if (e instanceof LSTMError) console.log(e.argument) }
 */
export class LSTMError extends Error {
  /** The argument (or object) at fault, e.g. `x`, `options.lengths[2]`, `lstm`. */
  readonly argument: string;
  readonly expected: string;
  readonly received: string;

  constructor(argument: string, expected: string, received: string) {
    super(`${argument}: expected ${expected}, received ${received}`);
    this.name = "LSTMError";
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** A short description of any value for error messages; never throws, whatever the value. */
export function describe(v: unknown): string {
  try {
    return describeUnsafe(v);
  } catch {
    return `a value of type ${typeof v}`;
  }
}

// A shape or array for a message: numbers as they are, anything else by its type.
const list = (a: unknown[]) => `[${a.slice(0, 8).map((x) => (typeof x === "number" ? String(x) : typeof x)).join(",")}${a.length > 8 ? ",…" : ""}]`;

function describeUnsafe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "function") return "a function";
  const kind = typedKind(v);
  if (kind !== undefined) return `${kind}(${lengthOf(v as ArrayBufferView)})`;
  if (ArrayBuffer.isView(v)) return `DataView(${v.byteLength})`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === "object") {
    const o = v as { data?: unknown; shape?: unknown };
    if ("data" in o && "shape" in o) {
      const s = o.shape;
      return `a tensor with shape ${Array.isArray(s) ? list(s) : describeUnsafe(s)} and data ${describeUnsafe(o.data)}`;
    }
    const keys = Object.keys(v as object).slice(0, 5);
    return `an object with keys [${keys.join(", ")}]`;
  }
  return typeof v;
}

/** A positive (or non-negative) integer, or an LSTMError naming `name`. */
export function checkInt(name: string, v: unknown, min = 1, max = 2 ** 31 - 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max >= 2 ** 31 - 1 ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new LSTMError(name, range, describe(v));
  }
  return v;
}

export function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new LSTMError(name, "a boolean", describe(v));
  return v;
}
