// A strict JSON parser (RFC 8259) for untrusted headers such as safetensors'. Unlike JSON.parse it
// refuses duplicated keys (JSON.parse silently keeps the last one, so two readers could disagree
// about a file), bounds the nesting depth (so hostile input cannot exhaust the stack), refuses lone
// UTF-16 surrogates (as serde_json, which the safetensors reference implementation uses, does), and
// builds every object with a null prototype, so no key — "__proto__" included — can reach
// Object.prototype.
import { LSTMError } from "./errors";

/** A parsed JSON value; objects have a null prototype. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
/** A parsed JSON object (null prototype, own keys only). */
export interface JsonObject { [key: string]: Json }

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Map([['"', '"'], ["\\", "\\"], ["/", "/"], ["b", "\b"], ["f", "\f"], ["n", "\n"], ["r", "\r"], ["t", "\t"]]);

/**
 * Parse `text` as one JSON value.
 * @param what the argument named in errors, e.g. "safetensors header".
 * @param maxDepth the deepest nesting of objects and arrays allowed (the top level is depth 1).
 * @returns the value; objects have a null prototype.
 * @throws LSTMError naming `what` and the character position of the problem.
 * @example
 * parseStrictJson('{"a": [1, 2]}', "header", 8); // { a: [1, 2] }
 */
export function parseStrictJson(text: string, what: string, maxDepth: number): Json {
  const p = new Parser(text, what, maxDepth);
  p.ws();
  const v = p.value(1);
  p.ws();
  if (p.i !== text.length) p.fail("the end of the JSON text", "more text");
  return v;
}

class Parser {
  i = 0;
  constructor(readonly s: string, readonly what: string, readonly maxDepth: number) {}

  fail(expected: string, received: string): never {
    throw new LSTMError(this.what, `valid JSON: ${expected}`, `${received} at character ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = s.charCodeAt(++this.i);
  }

  private seen(): string {
    if (this.i >= this.s.length) return "the end of the text";
    return `${JSON.stringify(this.s[this.i])}`;
  }

  value(depth: number): Json {
    const c = this.s[this.i];
    if (c === "{" || c === "[") {
      if (depth > this.maxDepth) {
        throw new LSTMError(this.what, `JSON nested at most ${this.maxDepth} deep`, `deeper nesting at character ${this.i}`);
      }
      return c === "{" ? this.object(depth) : this.array(depth);
    }
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.s.startsWith(word, this.i)) { this.i += word.length; return v; }
    }
    return this.fail("a value", this.seen());
  }

  private object(depth: number): JsonObject {
    const o: JsonObject = Object.create(null);
    this.i++; // {
    this.ws();
    if (this.s[this.i] === "}") { this.i++; return o; }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail("a string key", this.seen());
      const at = this.i;
      const key = this.string();
      // `in` on a null-prototype object sees own keys only.
      if (key in o) throw new LSTMError(this.what, "no duplicated keys in an object", `key ${JSON.stringify(key)} twice (again at character ${at})`);
      this.ws();
      if (this.s[this.i] !== ":") this.fail('":" after a key', this.seen());
      this.i++;
      this.ws();
      o[key] = this.value(depth + 1);
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return o;
      if (c !== ",") { this.i--; this.fail('"," or "}" in an object', this.seen()); }
      this.ws();
    }
  }

  private array(depth: number): Json[] {
    const a: Json[] = [];
    this.i++; // [
    this.ws();
    if (this.s[this.i] === "]") { this.i++; return a; }
    for (;;) {
      a.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return a;
      if (c !== ",") { this.i--; this.fail('"," or "]" in an array', this.seen()); }
      this.ws();
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail("a number", this.seen());
    this.i += m[0].length;
    return Number(m[0]);
  }

  private string(): string {
    const s = this.s;
    let out = "";
    let run = ++this.i; // start of the current run of plain characters
    for (;;) {
      if (this.i >= s.length) this.fail('a closing "', "the end of the text");
      const c = s.charCodeAt(this.i);
      if (c === 0x22) { out += s.slice(run, this.i++); return out; }
      if (c < 0x20) this.fail("no raw control characters in a string", `character code ${c}`);
      if (c >= 0xd800 && c <= 0xdfff) {
        // Only possible if the caller decoded text without validation; pairs pass, lone halves do not.
        if (c <= 0xdbff && isLow(s.charCodeAt(this.i + 1))) { this.i += 2; continue; }
        this.fail("no lone UTF-16 surrogates", `character code ${c}`);
      }
      if (c !== 0x5c) { this.i++; continue; }
      out += s.slice(run, this.i);
      const e = s[this.i + 1];
      if (e === "u") {
        const u = this.hex4(this.i + 2);
        this.i += 6;
        if (u >= 0xdc00 && u <= 0xdfff) this.fail("no lone UTF-16 surrogates", `\\u${u.toString(16)}`);
        if (u >= 0xd800 && u <= 0xdbff) {
          const lo = s.startsWith("\\u", this.i) ? this.hex4(this.i + 2) : -1;
          if (!isLow(lo)) this.fail("a low surrogate escape after a high one", this.seen());
          this.i += 6;
          out += String.fromCharCode(u, lo);
        } else out += String.fromCharCode(u);
      } else if (e !== undefined && ESCAPES.has(e)) {
        out += ESCAPES.get(e);
        this.i += 2;
      } else {
        this.i++;
        this.fail('an escape \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX', this.seen());
      }
      run = this.i;
    }
  }

  private hex4(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) { this.i = at; this.fail("four hex digits after \\u", JSON.stringify(h)); }
    return parseInt(h, 16);
  }
}

const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
