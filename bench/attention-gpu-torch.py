# Peer for bench/attention-gpu: torch scaled_dot_product_attention (bf16, causal, GQA via enable_gqa) on one shape,
# timed with CUDA events after warm-up. Prints one JSON line: {"ms": …, "torch": …}. Runs on the GPU machine only.
import argparse, json

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
for k in ("W", "L", "H", "KH", "Dh"):
    p.add_argument(f"--{k}", type=int, required=True)
a = p.parse_args()
g = torch.Generator(device="cuda").manual_seed(0)
q = torch.randn(a.W, a.H, a.L, a.Dh, device="cuda", dtype=torch.bfloat16, generator=g)
k = torch.randn(a.W, a.KH, a.L, a.Dh, device="cuda", dtype=torch.bfloat16, generator=g)
v = torch.randn(a.W, a.KH, a.L, a.Dh, device="cuda", dtype=torch.bfloat16, generator=g)
run = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
for _ in range(3):
    run()
b, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
n = 20
b.record()
for _ in range(n):
    run()
e.record()
torch.cuda.synchronize()
print(json.dumps({"ms": b.elapsed_time(e) / n, "torch": torch.__version__}))
