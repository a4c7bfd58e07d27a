# Peer for bench/eval-gpu: builds an HF checkpoint with random bf16 weights for a given config (transformers
# save_pretrained), writes seeded random token ids, and measures HF transformers + torch perplexity throughput
# (bf16, sdpa, same windows and batch as memc). Prints one JSON line. Runs on the GPU machine only.
import argparse, json, os, time

import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--config", required=True, help="JSON: model_type plus HF config fields")
p.add_argument("--out", required=True)
p.add_argument("--seqlen", type=int, required=True)
p.add_argument("--windows", type=int, required=True)
p.add_argument("--batch", type=int, required=True, help="windows per forward (memc's chunk)")
a = p.parse_args()

cfg_in = json.loads(a.config)
cfg = AutoConfig.for_model(**cfg_in)
torch.manual_seed(0)
with torch.device("cuda"):
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
model.eval()
os.makedirs(a.out, exist_ok=True)
t0 = time.perf_counter()
model.save_pretrained(a.out)
save_s = time.perf_counter() - t0
V = cfg.vocab_size
g = torch.Generator().manual_seed(1)
ids = torch.randint(0, V, (a.windows * a.seqlen,), generator=g, dtype=torch.int32)
ids.numpy().tofile(os.path.join(a.out, "tokens.i32"))
x_all = ids.to("cuda", torch.long).view(a.windows, a.seqlen)


def run(n_windows):
    tot, cnt = 0.0, 0
    for w in range(0, n_windows, a.batch):
        x = x_all[w : w + a.batch]
        logits = model(input_ids=x).logits
        nll = F.cross_entropy(logits[:, :-1].float().reshape(-1, V), x[:, 1:].reshape(-1), reduction="sum")
        tot += nll.item()
        cnt += x[:, 1:].numel()
        del logits
    return tot / cnt


with torch.no_grad():
    run(min(a.batch, a.windows))  # warm-up (cuBLAS heuristics, sdpa kernels)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    mean_nll = run(a.windows)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    run(a.windows)  # the same pass again, as bench/eval-gpu does for memc
    torch.cuda.synchronize()
    dt2 = time.perf_counter() - t1

params = sum(p.numel() for p in model.parameters())
print(json.dumps({
    "tokens_per_s": a.windows * a.seqlen / dt,
    "seconds": dt,
    "repeat_tokens_per_s": a.windows * a.seqlen / dt2,
    "mean_nll": mean_nll,
    "peak_mib": torch.cuda.max_memory_allocated() / 2**20,
    "params": params,
    "save_s": save_s,
    "torch": torch.__version__,
    "gpu": torch.cuda.get_device_name(0),
}))
