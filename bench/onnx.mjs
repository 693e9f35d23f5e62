// A minimal protobuf encoder for the few ONNX messages the benchmark needs, and the one-node LSTM
// model built from a torch.nn.LSTM state dict. Field numbers are those of onnx/onnx.proto3:
//   ModelProto     ir_version 1, opset_import 8, producer_name 2, graph 7
//   OperatorSetIdProto  domain 1, version 2
//   GraphProto     node 1, name 2, initializer 5, input 11, output 12
//   NodeProto      input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto name 1, f 2, i 3, s 4, type 20 (FLOAT 1, INT 2, STRING 3)
//   TensorProto    dims 1, data_type 2 (FLOAT 1), name 8, raw_data 9 (little-endian bytes)
//   ValueInfoProto name 1, type 2 -> TypeProto tensor_type 1 -> elem_type 1, shape 2
//   TensorShapeProto dim 1 -> Dimension dim_value 1 | dim_param 2
// Only the wire types used there appear: 0 (varint) and 2 (length-delimited).

const enc = new TextEncoder();

/** Bytes of an unsigned varint; numbers up to 2^53 (BigInt-free: sizes here are small). */
function varint(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint: ${n} is not a non-negative safe integer`);
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** A message under construction: a list of byte chunks. */
class Msg {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(bytes) {
    const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  /** Field with wire type 0 (non-negative values only: nothing here needs more). */
  int(field, v) {
    return this.push(varint(field * 8)).push(varint(v));
  }
  /** Field with wire type 2: bytes, a string or a nested Msg. */
  bytes(field, v) {
    const b = typeof v === "string" ? enc.encode(v) : v instanceof Msg ? v.finish() : v;
    this.push(varint(field * 8 + 2));
    this.push(varint(b.length));
    return this.push(b);
  }
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType and TypeProto elem_type

/** TensorProto of float32 data, stored as raw_data. */
export function tensorProto(name, dims, data) {
  const m = new Msg();
  for (const d of dims) m.int(1, d);
  m.int(2, FLOAT);
  m.bytes(8, name);
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  if (f.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: ${f.length} values for dims [${dims}]`);
  const le = new Uint8Array(f.length * 4);
  const view = new DataView(le.buffer);
  for (let i = 0; i < f.length; i++) view.setFloat32(i * 4, f[i], true);
  return m.bytes(9, le);
}

/** ValueInfoProto of a float tensor; a string dim becomes a symbolic dim_param. */
export function valueInfo(name, dims) {
  const shape = new Msg();
  for (const d of dims) shape.bytes(1, typeof d === "string" ? new Msg().bytes(2, d) : new Msg().int(1, d));
  const tensorType = new Msg().int(1, FLOAT).bytes(2, shape);
  return new Msg().bytes(1, name).bytes(2, new Msg().bytes(1, tensorType));
}

/** AttributeProto: an integer, a float or a string. */
export function attribute(name, value) {
  const m = new Msg().bytes(1, name);
  if (typeof value === "string") return m.bytes(4, value).int(20, 3);
  if (Number.isInteger(value)) return m.int(3, value).int(20, 2);
  const f = new Uint8Array(4);
  new DataView(f.buffer).setFloat32(0, value, true);
  return m.push(varint(2 * 8 + 5)).push(f).int(20, 1); // field 2, wire type 5 (fixed32)
}

/** NodeProto. An empty string in inputs/outputs marks an omitted optional one, as ONNX wants. */
export function nodeProto({ opType, inputs, outputs, name = "", attributes = [] }) {
  const m = new Msg();
  for (const i of inputs) m.bytes(1, i);
  for (const o of outputs) m.bytes(2, o);
  if (name) m.bytes(3, name);
  m.bytes(4, opType);
  for (const a of attributes) m.bytes(5, a);
  return m;
}

/** ModelProto bytes around one graph. */
export function modelProto({ nodes, name, initializers = [], inputs, outputs, opset = 14 }) {
  const g = new Msg();
  for (const n of nodes) g.bytes(1, n);
  g.bytes(2, name);
  for (const t of initializers) g.bytes(5, t);
  for (const v of inputs) g.bytes(11, v);
  for (const v of outputs) g.bytes(12, v);
  return new Msg()
    .int(1, 8) // IR version 8 (ONNX 1.13+) covers opset 14
    .bytes(2, "lstm-wasm-bench")
    .bytes(7, g)
    .bytes(8, new Msg().bytes(1, "").int(2, opset))
    .finish();
}

// torch gate blocks i,f,g,o -> ONNX i,o,f,c: ONNX block q takes torch block TORCH_OF_ONNX[q].
const TORCH_OF_ONNX = [0, 3, 1, 2];

/** Rows of a torch [4H, K] weight (or [4H] bias with K = 1) reordered into ONNX gate order. */
export function toOnnxGates(data, H, K) {
  const out = new Float32Array(4 * H * K);
  for (let q = 0; q < 4; q++) out.set(data.subarray(TORCH_OF_ONNX[q] * H * K, (TORCH_OF_ONNX[q] + 1) * H * K), q * H * K);
  return out;
}

/**
 * A one-node ONNX LSTM (opset 14, forward, layout 0) with the weights of a torch.nn.LSTM state dict.
 * X [T,B,I] is a graph input; W, R, B are initializers. With streaming: true, initial_h and
 * initial_c [1,B,H] are graph inputs too and only Y_h, Y_c are produced (T = 1 per call).
 * Symbolic T and B, so one model serves every sequence length and batch size.
 */
export function lstmModel(sd, { inputSize: I, hiddenSize: H, streaming = false }) {
  const W = toOnnxGates(sd.weight_ih_l0.data, H, I);
  const R = toOnnxGates(sd.weight_hh_l0.data, H, H);
  const Bias = new Float32Array(8 * H);
  Bias.set(toOnnxGates(sd.bias_ih_l0.data, H, 1), 0);
  Bias.set(toOnnxGates(sd.bias_hh_l0.data, H, 1), 4 * H);
  const node = nodeProto({
    opType: "LSTM",
    name: "lstm",
    inputs: streaming ? ["X", "W", "R", "B", "", "initial_h", "initial_c"] : ["X", "W", "R", "B"],
    outputs: streaming ? ["", "Y_h", "Y_c"] : ["Y", "Y_h", "Y_c"],
    attributes: [attribute("hidden_size", H), attribute("direction", "forward"), attribute("layout", 0)],
  });
  const inputs = [valueInfo("X", ["T", "B", I])];
  if (streaming) inputs.push(valueInfo("initial_h", [1, "B", H]), valueInfo("initial_c", [1, "B", H]));
  const outputs = [valueInfo("Y_h", [1, "B", H]), valueInfo("Y_c", [1, "B", H])];
  if (!streaming) outputs.unshift(valueInfo("Y", ["T", 1, "B", H]));
  return modelProto({
    name: streaming ? "lstm_step" : "lstm",
    nodes: [node],
    initializers: [tensorProto("W", [1, 4 * H, I], W), tensorProto("R", [1, 4 * H, H], R), tensorProto("B", [1, 8 * H], Bias)],
    inputs,
    outputs,
  });
}
