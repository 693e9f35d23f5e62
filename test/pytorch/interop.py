"""PyTorch side of the interop check (run by interop.mjs with Debian's python3-torch).

  interop.py check  OURS.safetensors CASE.json   load lstm-wasm's file into torch.nn.LSTM + nn.Linear,
                                                 run CASE's x, print the max |torch - lstm-wasm|
  interop.py export TORCH.safetensors OUT.json   save a seeded torch.nn.LSTM with the safetensors
                                                 layout and write its input and outputs

safetensors is read and written with the format's published layout (8-byte header length, JSON
header, raw little-endian data), so the check needs nothing beyond torch.
"""
import json, struct, sys
import torch


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


def check(model_path, case_path):
    sd, meta = read_safetensors(model_path)
    cfg = json.loads(meta["config"])
    c, head_cfg = cfg["lstm"], cfg["head"]
    lstm = torch.nn.LSTM(c["inputSize"], c["hiddenSize"], num_layers=c["numLayers"],
                         bidirectional=c["bidirectional"], proj_size=c["projSize"])
    lstm.load_state_dict({k: v for k, v in sd.items() if not k.startswith("head.")})  # strict
    head = torch.nn.Linear(head_cfg["inputSize"], head_cfg["outputSize"])
    head.load_state_dict({"weight": sd["head.weight"], "bias": sd["head.bias"]})
    case = json.load(open(case_path))
    x = torch.tensor(case["x"], dtype=torch.float32)  # [N, T, I] batch-first
    with torch.no_grad():
        y, (hn, cn) = lstm(x.transpose(0, 1))
        # lstm-wasm's head sees each direction's final h: forward at the last step, reverse at t = 0
        p = c["projSize"] or c["hiddenSize"]
        last = torch.cat([y[-1, :, :p], y[0, :, p:]], dim=1) if c["bidirectional"] else y[-1]
        pred = head(last)
    print(json.dumps({
        "y": (y - torch.tensor(case["y"])).abs().max().item(),
        "pred": (pred - torch.tensor(case["pred"])).abs().max().item(),
    }))


def export(model_path, out_path):
    torch.manual_seed(1234)
    lstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=3)
    write_safetensors(model_path, lstm.state_dict())
    x = torch.randn(6, 4, 5)  # [T, B, I]
    with torch.no_grad():
        y, (hn, cn) = lstm(x)
    json.dump({"x": x.tolist(), "y": y.tolist(), "hn": hn.tolist(), "cn": cn.tolist()}, open(out_path, "w"))


if __name__ == "__main__":
    {"check": check, "export": export}[sys.argv[1]](*sys.argv[2:])
