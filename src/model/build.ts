// Building a model from a description read off a file (a model file, a TF.js model.json): every
// layer's options checked and its widths chained with nothing allocated, then the layers built and
// loaded, and whatever was built freed when anything fails, so nothing is half-built.
import type { Tensor } from "../tensor";
import { LSTM, checkLSTMOptions, chainLSTM, type LSTMOptions } from "../lstm";
import { Linear, checkLinearOptions, chainLinear, type LinearOptions } from "../linear";
import { Embedding, checkEmbeddingOptions, chainEmbedding, type EmbeddingOptions } from "../layers/embedding";
import { Dropout, checkDropoutOptions, chainDropout } from "../layers/dropout";
import type { Port, LayerSpec } from "../layers/layer";
import type { Sequential, Layer } from "./sequential";

/** A layer to build: its type and its options (as the constructor takes them, without a seed). */
export interface LayerPlan { type: LayerSpec["type"]; options: Record<string, unknown> }

/**
 * Check a layer's options (nothing allocated; errors name `at`) and chain it after `port` (null:
 * nothing before it; its own input width starts the chain, and an Embedding reads ids only when it
 * is the `first` layer).
 */
export function checkLayer(p: LayerPlan, port: Port | null, at: string, first = port === null): Port {
  const o = { ...p.options, seed: 0 } as never;
  switch (p.type) {
    case "embedding":
      return chainEmbedding(checkEmbeddingOptions(o as EmbeddingOptions, at).cfg, port ?? { width: 1, seq: true, ids: first }, at);
    case "lstm": {
      const cfg = checkLSTMOptions(o as LSTMOptions, at).cfg;
      return chainLSTM(cfg, port ?? { width: cfg.inputSize, seq: true, ids: false }, at);
    }
    case "linear": {
      const cfg = checkLinearOptions(o as LinearOptions, at).cfg;
      return chainLinear(cfg, port ?? { width: cfg.inputSize, seq: true, ids: false }, at);
    }
    case "dropout":
      return chainDropout(checkDropoutOptions(p.options as { p: number }, at), port!, at);
  }
}

/** The model's input: ids when the first layer is an Embedding, else its first LSTM's or Linear's width. */
export function inputPort(plans: LayerPlan[]): Port {
  const firstFloat = plans.find((p) => p.type === "lstm" || p.type === "linear");
  return plans[0]?.type === "embedding" ? { width: 1, seq: true, ids: true }
    : { width: Number(firstFloat?.options.inputSize ?? 0), seq: true, ids: false };
}

function build(p: LayerPlan): Layer {
  const o = { ...p.options, seed: 0 };
  switch (p.type) {
    case "lstm": return new LSTM(o as unknown as LSTMOptions);
    case "linear": return new Linear(o as unknown as LinearOptions);
    case "embedding": return new Embedding(o as unknown as EmbeddingOptions);
    case "dropout": return new Dropout(p.options as { p: number });
  }
}

/**
 * Build checked plans into a model (`make`: the Sequential constructor) and load `dict` into it
 * (errors name `what`); a failure frees everything built.
 */
export function buildModel(plans: LayerPlan[], names: string[], dict: Record<string, Tensor>, what: string,
  make: (layers: Layer[], names: string[]) => Sequential): Sequential {
  const built: Layer[] = [];
  try {
    for (const p of plans) built.push(build(p));
    const model = make(built, names);
    built.length = 0; // the model owns them now
    try {
      model.loadStateDict(dict, what);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  } catch (err) {
    for (const l of built) l.dispose();
    throw err;
  }
}
