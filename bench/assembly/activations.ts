// The activations alone, for bench:kernels: the library's own functions, which run inside
// lstm_forward and are not in its ABI, compiled here with the release builds' flags.
export { sigmoid_forward, tanh_forward } from "../../assembly/activations";
