// Which objects this library made. A method called on a look-alike (`Object.create(LSTM.prototype)`,
// `LSTM.prototype.forward.call({})`) or an optimizer handed an object with a forged `target` would
// otherwise read undefined fields (a TypeError) or point a kernel at any wasm address.
import { LSTMError, describe } from "./errors";

/** The instances of one class, recorded by its constructor. */
export class Brand {
  private readonly set = new WeakSet<object>();

  /** @param what the argument named in errors ("lstm", "model", …); @param kind e.g. "an LSTM made with new LSTM(…)". */
  constructor(private readonly what: string, private readonly kind: string) {}

  add(o: object): void {
    this.set.add(o);
  }

  has(o: unknown): boolean {
    return typeof o === "object" && o !== null && this.set.has(o);
  }

  /** An LSTMError unless `o` was made by the class's constructor. */
  check(o: unknown, what = this.what): void {
    if (!this.has(o)) throw new LSTMError(what, this.kind, describe(o));
  }
}
