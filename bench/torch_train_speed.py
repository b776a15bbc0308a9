"""PyTorch side of bench/train_speed.ts: the same three models and the same
step (forward, loss, backward, Adam) timed over one epoch of synthetic data.

Protocol (line based, so the Node bench can interleave rounds with its own):
  stdout first line: {"torch": version, "threads": n}
  stdin  "mlp 1280 64 2" -> stdout {"model": "mlp", "threads": 2, "samplesPerSec": ...}
(the fourth field, torch's intra-op thread count, is optional). The
transformer takes its shape after the thread count, VOCAB SEQ_LEN D_MODEL
LAYERS HEADS: "transformer 128 32 2 73 64 256 2 4"; its model is
bench/torch_lm_speed.py's, and samples are token windows. On a busy
2-core machine one torch thread plus OpenBLAS's own threads (the Node side
sets OPENBLAS_NUM_THREADS to every core) is often faster than two torch
threads, so the Node side asks for both and keeps the better.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn

from torch_lm_speed import build_lm

threads = int(os.environ.get("TSCOLAB_TORCH_THREADS", str(os.cpu_count() or 1)))
torch.set_num_threads(threads)
torch.manual_seed(1)


def build(name, shape):
    if name == "transformer":
        return build_lm(*shape)
    if name == "mlp":
        return nn.Sequential(
            nn.Linear(2056, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
            nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 1)), nn.MSELoss()
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10)), nn.CrossEntropyLoss()


def data(name, samples, batch, shape):
    out = []
    for start in range(0, samples, batch):
        n = min(batch, samples - start)
        if name == "transformer":
            vocab, seq_len = shape[0], shape[1]
            out.append((torch.randint(0, vocab, (n, seq_len)), torch.randint(0, vocab, (n, seq_len))))
        elif name == "mlp":
            out.append((torch.randn(n, 2056), torch.randn(n, 1)))
        else:
            out.append((torch.rand(n, 1, 28, 28), torch.randint(0, 10, (n,))))
    return out


state = {}


def epoch(name, samples, batch, shape):
    key = (name, samples, batch, shape)
    if key not in state:
        model, loss_fn = build(name, shape)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        batches = data(name, samples, batch, shape)
        state[key] = (model, loss_fn, opt, batches)
        run(model, loss_fn, opt, batches[:1])  # warm-up, not timed
    model, loss_fn, opt, batches = state[key]
    t0 = time.perf_counter()
    run(model, loss_fn, opt, batches)
    return samples / (time.perf_counter() - t0)


def run(model, loss_fn, opt, batches):
    model.train()
    total = torch.zeros(())
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        total += loss.detach()
    return float(total)  # one read per epoch, like the tfjs side


print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    name, samples, batch = parts[0], int(parts[1]), int(parts[2])
    torch.set_num_threads(int(parts[3]) if len(parts) > 3 else threads)
    sps = epoch(name, samples, batch, tuple(int(p) for p in parts[4:9]))
    print(json.dumps({"model": name, "threads": torch.get_num_threads(), "samplesPerSec": sps}), flush=True)
