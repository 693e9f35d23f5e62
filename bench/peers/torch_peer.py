# PyTorch side of the benchmark: a child process speaking one JSON object per line on stdin/stdout.
# It builds torch.nn.LSTM with lstm-wasm's weights, returns outputs (or gradients) for the check, and
# times itself with the same procedure as ../lib/timing.mjs, so no IPC is inside a timed call.
import base64, json, os, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def f32(b64, shape):
    return torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.float32).reshape(shape).clone()


def enc(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("float32").tobytes()).decode()


def i64(b64, shape):
    return torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.int32).reshape(shape).long()


class CharModel(torch.nn.Module):
    """Embedding(V, E) -> LSTM(E, H, batch_first) -> Linear(H, V); the names of lstm-wasm's charModel."""

    def __init__(self, V, E, H):
        super().__init__()
        self.embed = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        self.fc = torch.nn.Linear(H, V)

    def forward(self, ids):
        y, _ = self.lstm(self.embed(ids))
        return self.fc(y)


def measure(fn, budget_ms, min_reps, min_reps_slow, max_reps, warmup):
    def once():
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) / 1e6

    est = once()
    i = 1
    while (i < warmup and est < 1000) or (est < 5 and i < 20):
        est = min(est, once())
        i += 1
    floor = min_reps if est < 200 else min_reps_slow
    reps = max(floor, min(max_reps, round(budget_ms / max(est, 1e-3))))
    return [once() for _ in range(reps)]


state = {}
for line in sys.stdin:
    msg = json.loads(line)
    try:
        if msg["cmd"] == "hello":
            # Debian's torch links the system libblas.so.3: OpenBLAS when installed, else the slow
            # reference BLAS. Which one was loaded shows in this process's memory map after a matmul.
            torch.ones(64, 64) @ torch.ones(64, 64)
            try:
                maps = open("/proc/self/maps").read().lower()
            except OSError:
                maps = ""
            blas = "openblas" if "openblas" in maps else "reference BLAS" if "blas/libblas" in maps else "BLAS unknown"
            out = {"version": torch.__version__, "blas": blas, "threads": torch.get_num_threads()}
        elif msg["cmd"] == "setup":
            B, T, I, H = msg["B"], msg["T"], msg["I"], msg["H"]
            lstm = torch.nn.LSTM(I, H)
            with torch.no_grad():
                for name, p in lstm.named_parameters():
                    p.copy_(f32(msg["sd"][name], tuple(p.shape)))
            x = f32(msg["x"], (T, B, I))
            state = {"lstm": lstm, "x": x, "mode": msg["mode"]}
            if msg["mode"] == "forward":
                with torch.no_grad():
                    y, (hn, cn) = lstm(x)
                out = {"y": enc(y), "hn": enc(hn), "cn": enc(cn)}
            else:  # train: gradients for dy = ones, as the other libraries are checked
                dy = torch.ones(T, B, H)
                lstm.zero_grad()
                y, _ = lstm(x)
                y.backward(dy)
                out = {"grads": {n: enc(p.grad) for n, p in lstm.named_parameters()}}
                lstm.zero_grad()
                opt = torch.optim.SGD(lstm.parameters(), lr=1e-6)
                state.update(dy=dy, opt=opt)
        elif msg["cmd"] == "setup_char":
            # The C workload: Embedding -> LSTM (every step) -> Linear, cross-entropy on the logits
            # (torch fuses its log-softmax), with the state dict of lstm-wasm's charModel.
            B, T, V, E, H = msg["B"], msg["T"], msg["V"], msg["E"], msg["H"]
            model = CharModel(V, E, H)
            with torch.no_grad():
                for name, p in model.named_parameters():
                    p.copy_(f32(msg["sd"][name], tuple(p.shape)))
            ids, targets = i64(msg["ids"], (B, T)), i64(msg["targets"], (B * T,))
            model.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(ids).reshape(B * T, V), targets)
            loss.backward()
            out = {"loss": loss.item(), "grads": {n: enc(p.grad) for n, p in model.named_parameters()}}
            model.zero_grad()
            opt = torch.optim.SGD(model.parameters(), lr=1e-6)
            state = {"mode": "char", "model": model, "ids": ids, "targets": targets, "opt": opt, "V": V}
        elif msg["cmd"] == "time" and state.get("mode") == "char":
            model, ids, targets, opt, V = state["model"], state["ids"], state["targets"], state["opt"], state["V"]

            def fn():  # a full training step: forward, loss, backward, SGD, zeroed gradients
                loss = torch.nn.functional.cross_entropy(model(ids).reshape(-1, V), targets)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=False)
            t = msg["timing"]
            out = {"samples": measure(fn, t["budgetMs"], t["minReps"], t["minRepsSlow"], t["maxReps"], t["warmup"])}
        elif msg["cmd"] == "time":
            lstm, x = state["lstm"], state["x"]
            if state["mode"] == "forward":
                def fn():
                    with torch.no_grad():
                        lstm(x)
            else:
                dy, opt = state["dy"], state["opt"]

                def fn():  # a full training step, as lstm-wasm's: forward, BPTT, SGD, zeroed gradients
                    y, _ = lstm(x)
                    y.backward(dy)
                    opt.step()
                    opt.zero_grad(set_to_none=False)
            t = msg["timing"]
            out = {"samples": measure(fn, t["budgetMs"], t["minReps"], t["minRepsSlow"], t["maxReps"], t["warmup"])}
        else:
            out = {"error": f"unknown command {msg['cmd']}"}
    except Exception as e:  # reported to the runner, which skips the row
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
