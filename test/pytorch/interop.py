"""PyTorch side of the interop check (run by interop.mjs with Debian's python3-torch).

  interop.py run CASES.json DIR

CASES.json lists models as lstm-wasm describes a Sequential (the layer list of model.save()'s
metadata: {type, name, config}) with an input x. For each case this builds the same model as a
torch.nn.Module whose attributes are the layer names (`embed`, `lstm`, `fc`), and:

  torch -> lstm-wasm  saves a seeded module's state_dict() to DIR/<case>.torch.safetensors and its
                      eval-mode outputs on x (and, with dropout, train-mode ones) to the result;
  lstm-wasm -> torch  loads DIR/<case>.ours.<build>.safetensors (writeSafetensors(model.stateDict())
                      from each of lstm-wasm's wasm builds listed in the case's "builds") with
                      load_state_dict(strict=True), runs x in eval mode and reports the max
                      |torch - lstm-wasm| against that build's predictions, DIR/<case>.ours.<build>.json.

A case with "fromMetadata" builds its module from the file's own __metadata__ (model.save()), and a
"bare" case is a lone torch.nn.LSTM (time-major, for LSTM.fromStateDict). Prints one JSON object of
results, keyed by case name.

safetensors is read and written with the format's published layout (8-byte header length, JSON
header, raw little-endian data), so the check needs nothing beyond torch.
"""
import json, os, struct, sys, warnings
import torch
from torch import nn

# nn.LSTM warns about dropout with num_layers=1; the cases make it on purpose.
warnings.filterwarnings("ignore")
torch.set_num_threads(1)


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
        out[name] = t.clone()
    return out, header.get("__metadata__", {})


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# The module of the README ("Files and PyTorch"), word for word: lstm-wasm's
#   new Sequential([new Embedding(...), new LSTM({ ..., numLayers: 2, dropout }), new Linear(...)],
#                  { names: ["embed", "lstm", "fc"] })
# with returnSequences false (the default) is this module.
class TextClassifier(nn.Module):
    def __init__(self, vocab, embed_dim, hidden, classes, num_layers=2, dropout=0.25):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=num_layers, dropout=dropout, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, ids):                 # ids [N, T] -> logits [N, classes]
        out, _ = self.lstm(self.embed(ids))
        return self.fc(out[:, -1])          # fc(out) instead: per-step logits, returnSequences: true


ACTIVATIONS = {
    None: lambda x: x,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda x: torch.softmax(x, dim=-1),
}


def last_output(out, lstm, lengths=None):
    """lstm-wasm's output of an LSTM with returnSequences: false, from torch's batch-first `out`:
    the forward direction's h after the last (valid) step and, bidirectional, the reverse
    direction's h after step 0 (which torch stores at t = 0)."""
    p = lstm.proj_size or lstm.hidden_size
    fwd = out[:, -1, :p] if lengths is None else out[torch.arange(out.shape[0]), lengths - 1, :p]
    return torch.cat([fwd, out[:, 0, p:]], dim=1) if lstm.bidirectional else fwd


class Net(nn.Module):
    """Any chain of lstm-wasm layers as a torch module, each layer under its name."""

    def __init__(self, layers):
        super().__init__()
        self.plan = []
        for layer in layers:
            kind, name, c = layer["type"], layer["name"], layer["config"]
            if kind == "embedding":
                m = nn.Embedding(c["numEmbeddings"], c["embeddingDim"], padding_idx=c.get("paddingIdx"))
            elif kind == "lstm":
                for key, plain in (("reverse", False), ("peephole", False), ("goBackwards", False), ("recurrentActivation", "sigmoid")):
                    if c.get(key, plain) != plain:
                        raise ValueError(f"layer {name}: {key}={c[key]!r} has no torch.nn.LSTM equivalent")
                m = nn.LSTM(c["inputSize"], c["hiddenSize"], num_layers=c.get("numLayers", 1), bias=c.get("bias", True),
                            batch_first=True, dropout=c.get("dropout", 0.0), bidirectional=c.get("bidirectional", False),
                            proj_size=c.get("projSize", 0))
            elif kind == "linear":
                m = nn.Linear(c["inputSize"], c["outputSize"], bias=c.get("bias", True))
            elif kind == "dropout":
                m = nn.Dropout(c["p"])
            else:
                raise ValueError(f"layer {name}: unknown type {kind}")
            self.add_module(name, m)
            self.plan.append((kind, name, c))

    def forward(self, x, lengths=None):
        for kind, name, c in self.plan:
            m = getattr(self, name)
            if kind == "lstm":
                if lengths is None:
                    out, _ = m(x)
                else:  # lstm-wasm's predict(x, { lengths }): packed sequences, zeros past each end
                    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                    out, _ = nn.utils.rnn.pad_packed_sequence(m(packed)[0], batch_first=True, total_length=x.shape[1])
                x = out if c.get("returnSequences", False) else last_output(out, m, lengths)
            elif kind == "linear":
                x = ACTIVATIONS[c.get("activation")](m(x))
            else:
                x = m(x)
        return x


def build(case, layers=None):
    layers = layers or case["layers"]
    if case.get("module") == "TextClassifier":
        embed, lstm, fc = (l["config"] for l in layers)
        return TextClassifier(embed["numEmbeddings"], embed["embeddingDim"], lstm["hiddenSize"], fc["outputSize"],
                              num_layers=lstm["numLayers"], dropout=lstm["dropout"])
    return Net(layers)


def inputs(case):
    """The module's arguments: x, and the valid lengths when the case has them."""
    x = case["x"]
    x = torch.tensor(x, dtype=torch.long) if case["layers"][0]["type"] == "embedding" else torch.tensor(x, dtype=torch.float32)
    return (x,) if case.get("lengths") is None else (x, torch.tensor(case["lengths"], dtype=torch.long))


def max_diff(a, b):
    b = torch.tensor(b, dtype=torch.float32)
    if a.shape != b.shape:
        return float("inf")
    return (a - b).abs().max().item()


def has_dropout(module):
    return any((isinstance(m, nn.LSTM) and m.num_layers > 1 and m.dropout > 0) or (isinstance(m, nn.Dropout) and m.p > 0)
               for m in module.modules())


def refuses(module, sd):
    try:
        module.load_state_dict(sd, strict=True)
        return False
    except RuntimeError:
        return True


def bare_case(case, d, seed):
    """A lone torch.nn.LSTM (time-major x), saved for LSTM.fromStateDict."""
    c = case["lstm"]
    torch.manual_seed(seed)
    lstm = nn.LSTM(c["inputSize"], c["hiddenSize"], num_layers=c["numLayers"], bidirectional=c["bidirectional"], proj_size=c["projSize"])
    write_safetensors(os.path.join(d, case["name"] + ".torch.safetensors"), lstm.state_dict())
    x = torch.tensor(case["x"], dtype=torch.float32)
    with torch.no_grad():
        y, (hn, cn) = lstm(x)
    return {"y": y.tolist(), "hn": hn.tolist(), "cn": cn.tolist()}


def run(cases_path, d):
    cases = json.load(open(cases_path))
    results = {}
    for k, case in enumerate(cases):
        name = case["name"]
        if "lstm" in case:
            results[name] = bare_case(case, d, 1000 + k)
            continue
        x = inputs(case)
        r = {}
        # torch -> lstm-wasm: a seeded module, its state_dict() by name, its outputs in eval mode.
        torch.manual_seed(1000 + k)
        module = build(case)
        write_safetensors(os.path.join(d, name + ".torch.safetensors"), module.state_dict())
        r["keys"] = sorted(module.state_dict().keys())
        module.eval()
        with torch.no_grad():
            r["y"] = module(*x).tolist()
        if has_dropout(module):
            # Dropout is live in training mode, so the eval-mode match above is not vacuous.
            module.train()
            torch.manual_seed(7)
            with torch.no_grad():
                r["trainVsEval"] = (module(*x) - torch.tensor(r["y"])).abs().max().item()
        # lstm-wasm -> torch, for each of lstm-wasm's builds that saved a file: strict load by name,
        # eval-mode outputs against lstm-wasm's.
        r["ours"] = {}
        for build_name in case["builds"]:
            stem = os.path.join(d, f"{name}.ours.{build_name}")
            sd, meta = read_safetensors(stem + ".safetensors")
            ours = json.load(open(stem + ".json"))
            layers = None
            if case.get("fromMetadata"):
                layers = json.loads(meta["config"])["layers"]  # model.save(): the module is built from the file alone
            torch.manual_seed(2000 + k)
            theirs = build(case, layers)
            theirs.load_state_dict(sd, strict=True)
            theirs.eval()
            with torch.no_grad():
                got = {"diff": max_diff(theirs(*x), ours["pred"])}
            if layers is not None:
                got["metadataLayers"] = layers
            # Strictness: a key too many or too few is refused (a bias-free file in a biased module, say).
            first = sorted(sd)[0]
            got["strictRefusesMissing"] = refuses(build(case, layers), {k: v for k, v in sd.items() if k != first})
            got["strictRefusesExtra"] = refuses(build(case, layers), {**sd, "lstm.bias_ih_l9": torch.zeros(1)})
            r["ours"][build_name] = got
        results[name] = r
    print(json.dumps(results))


if __name__ == "__main__":
    {"run": run}[sys.argv[1]](*sys.argv[2:])
