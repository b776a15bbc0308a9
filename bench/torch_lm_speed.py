"""PyTorch twin of bench/lm_speed.ts: the same decoder-only transformer
(pre-layer-norm blocks, causal self-attention from a packed qkv projection,
GELU MLP 4x wide, learned positions, output tied to the token embedding),
the same batch of random token windows, the same step (forward, mean
next-token cross-entropy, backward, Adam). Prints one JSON line:
{"torch": version, "threads": n, "tokensPerSec": [one value per round]}.

Usage: python3 bench/torch_lm_speed.py VOCAB SEQ_LEN D_MODEL LAYERS HEADS BATCH STEPS ROUNDS
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

vocab, seq_len, d_model, layers, heads, batch, steps, rounds = (int(a) for a in sys.argv[1:9])
torch.set_num_threads(int(os.environ.get("TSCOLAB_TORCH_THREADS", str(os.cpu_count() or 1))))
torch.manual_seed(1)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, eps=1e-5)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp_in = nn.Linear(d_model, 4 * d_model)
        self.mlp_out = nn.Linear(4 * d_model, d_model)
        mask = torch.triu(torch.full((seq_len, seq_len), -1e9), diagonal=1)
        self.register_buffer("mask", mask)

    def forward(self, x):
        b, t, d = x.shape
        dh = d // heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, heads, dh).transpose(1, 2) for z in (q, k, v))
        scores = (q / math.sqrt(dh)) @ k.transpose(-2, -1) + self.mask
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(a)
        return x + self.mlp_out(F.gelu(self.mlp_in(self.ln2(x))))


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(seq_len, d_model) * 0.02)
        self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
        self.ln = nn.LayerNorm(d_model, eps=1e-5)

    def forward(self, ids):
        x = self.blocks(self.tok(ids) + self.pos)
        return self.ln(x) @ self.tok.weight.t()  # tied head


model = LM()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randint(0, vocab, (batch, seq_len))
y = torch.randint(0, vocab, (batch, seq_len))


def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
    loss.backward()
    opt.step()
    return loss


for _ in range(3):
    step()  # warm-up
rates = []
for _ in range(rounds):
    t0 = time.perf_counter()
    for _ in range(steps):
        last = step()
    float(last)
    rates.append(steps * batch * seq_len / (time.perf_counter() - t0))
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "tokensPerSec": rates}))
