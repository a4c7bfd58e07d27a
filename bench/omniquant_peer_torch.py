# bench/omniquant_peer_torch.py: a plain-torch OmniQuant-LWC (weight-only) run that mirrors the reference code
# (OpenGVLab/OmniQuant quantize/omniquant.py layer loop, quantize/quantizer.py UniformAffineQuantizer with lwc=True,
# datautils.py calibration windows), for Llama and Mixtral checkpoints, with its own fp32 decoder forward (HF
# LlamaDecoderLayer / MixtralDecoderLayer semantics: RMSNorm, rotate-half RoPE, GQA causal attention, SwiGLU; Mixtral:
# softmax top-k routing renormalised, the router `gate` kept in full precision, experts that no token reached are
# skipped, so their LWC parameters get no .grad and AdamW leaves them alone, as in transformers' MixtralSparseMoeBlock).
# It is the independent peer for memc's quality table: it evaluates fp, RTN and its own LWC result on the held-out
# texts with memc eval's protocol (non-overlapping seqlen windows, no BOS, tokens 1..L-1 scored) and prints JSON.
# fp32 throughout (the reference trains under fp16 autocast; its --deactive_amp path is fp32), batch 1, AdamW wd 0.
# Usage (GPU machine): python3 bench/omniquant_peer_torch.py MODEL_DIR --calib calib/english.txt --eval a.txt b.txt
#        --wbits 3 --group 128 --epochs 20 [--nsamples 128 --seqlen 512 --seed 2 --lr 1e-2 --aug-loss] [--json OUT]
import argparse, json, math, os, random, time
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer

CLIPMIN = 1e-5
p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--calib", required=True)
p.add_argument("--eval", nargs="+", required=True)
p.add_argument("--wbits", type=int, default=4)
p.add_argument("--group", type=int, default=128)
p.add_argument("--epochs", type=int, default=20)
p.add_argument("--nsamples", type=int, default=128)
p.add_argument("--seqlen", type=int, default=512)
p.add_argument("--seed", type=int, default=2)
p.add_argument("--lr", type=float, default=1e-2)
p.add_argument("--aug-loss", action="store_true")
p.add_argument("--skip-baselines", action="store_true", help="do not evaluate fp and RTN")
p.add_argument("--json")
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"

cfg = json.load(open(os.path.join(a.model, "config.json")))
moe = cfg.get("model_type") == "mixtral"
D, H, KH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
Dh = cfg.get("head_dim") or D // H
eps = cfg["rms_norm_eps"]
theta = (cfg.get("rope_parameters") or {}).get("rope_theta", cfg.get("rope_theta", 10000.0))
topk = cfg.get("num_experts_per_tok", 2)
E = cfg.get("num_local_experts", 0)
W = {k: v.float().to(dev) for k, v in load_file(os.path.join(a.model, "model.safetensors")).items()}
if "lm_head.weight" not in W: W["lm_head.weight"] = W["model.embed_tokens.weight"]
tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))

def linears(i):
    """the quantized Linears of layer i (reference: every nn.Linear whose name lacks "gate"; Llama: all seven)"""
    pre = f"model.layers.{i}."
    names = [f"self_attn.{n}_proj" for n in "qkvo"]
    names += [f"block_sparse_moe.experts.{e}.w{j}" for e in range(E) for j in (1, 2, 3)] if moe else [f"mlp.{n}_proj" for n in ("gate", "up", "down")]
    return [pre + n + ".weight" for n in names]

inv = 1.0 / (theta ** (torch.arange(0, Dh, 2, device=dev, dtype=torch.float32) / Dh))
def rope_tables(T):
    f = torch.outer(torch.arange(T, device=dev, dtype=torch.float32), inv)
    emb = torch.cat([f, f], -1)
    return emb.cos(), emb.sin()
def rot_half(x):
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2 :]
    return torch.cat([-x2, x1], -1)
def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

def block(x, i, w):
    """one decoder layer on x [B, T, D]; w maps names to (possibly fake-quantized) weights, fp fallback from W"""
    g = lambda n: w.get(f"model.layers.{i}.{n}.weight", W.get(f"model.layers.{i}.{n}.weight"))
    B, T, _ = x.shape
    cos, sin = rope_tables(T)
    h = rmsnorm(x, g("input_layernorm"))
    q = F.linear(h, g("self_attn.q_proj")).view(B, T, H, Dh).transpose(1, 2)
    k = F.linear(h, g("self_attn.k_proj")).view(B, T, KH, Dh).transpose(1, 2)
    v = F.linear(h, g("self_attn.v_proj")).view(B, T, KH, Dh).transpose(1, 2)
    q, k = q * cos + rot_half(q) * sin, k * cos + rot_half(k) * sin
    k, v = k.repeat_interleave(H // KH, 1), v.repeat_interleave(H // KH, 1)
    att = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, H * Dh)
    x = x + F.linear(att, g("self_attn.o_proj"))
    h = rmsnorm(x, g("post_attention_layernorm"))
    if not moe:
        return x + F.linear(F.silu(F.linear(h, g("mlp.gate_proj"))) * F.linear(h, g("mlp.up_proj")), g("mlp.down_proj"))
    flat = h.reshape(-1, D)
    probs = F.softmax(F.linear(flat, g("block_sparse_moe.gate")), dim=-1, dtype=torch.float32)
    rw, sel = torch.topk(probs, topk, dim=-1)
    rw = rw / rw.sum(-1, keepdim=True)
    out = torch.zeros_like(flat)
    for e in range(E):
        tok_idx, slot = torch.where(sel == e)
        if tok_idx.numel() == 0:
            continue
        xe = flat[tok_idx]
        pe = f"block_sparse_moe.experts.{e}"
        ye = F.linear(F.silu(F.linear(xe, g(f"{pe}.w1"))) * F.linear(xe, g(f"{pe}.w3")), g(f"{pe}.w2"))
        out.index_add_(0, tok_idx, ye * rw[tok_idx, slot, None])
    return x + out.view(B, T, D)

def round_ste(x):
    return (x.round() - x).detach() + x

def fake_quant(w, up=None, low=None):
    """quantizer.py UniformAffineQuantizer.fake_quant, asymmetric, per (row, group); up/low = LWC logits or None (RTN)"""
    rows, cols = w.shape
    x = w.reshape(-1, cols if a.group <= 0 else a.group)
    xmin, xmax = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    if up is not None:
        xmax, xmin = torch.sigmoid(up) * xmax, torch.sigmoid(low) * xmin
    scale = ((xmax - xmin) / (2 ** a.wbits - 1)).clamp(min=CLIPMIN, max=1e4)
    rz = (-xmin / scale).clamp(min=-1e4, max=1e4).round()
    q = (round_ste(x / scale) + rz).clamp(0, 2 ** a.wbits - 1)
    return ((q - rz) * scale).reshape(rows, cols)

def bf16(t):
    """the checkpoint memc writes (and the reference's qlayer.half()) stores Ŵ in 16 bits: evaluate what is written"""
    return t.to(torch.bfloat16).float()

def model_ppl(w, files):
    res = {}
    for f in files:
        ids = torch.tensor(tok.encode(open(f, encoding="utf-8").read(), add_special_tokens=False).ids, device=dev)
        n = ids.numel() // a.seqlen
        wins = ids[: n * a.seqlen].view(n, a.seqlen)
        nll, cnt = 0.0, 0
        with torch.no_grad():
            for s in range(0, n, 16):
                b = wins[s : s + 16]
                x = W["model.embed_tokens.weight"][b]
                for i in range(L):
                    x = block(x, i, w)
                logits = F.linear(rmsnorm(x, W["model.norm.weight"]), W["lm_head.weight"])
                nll += F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1), reduction="sum").item()
                cnt += b[:, 1:].numel()
        res[os.path.basename(f)] = math.exp(nll / cnt)
    return res

result = {"model": a.model, "wbits": a.wbits, "group": a.group, "epochs": a.epochs, "nsamples": a.nsamples, "seqlen": a.seqlen, "seed": a.seed, "lr": a.lr, "aug_loss": a.aug_loss, "device": torch.cuda.get_device_name(), "torch": torch.__version__}
if not a.skip_baselines:
    result["fp"] = model_ppl({}, a.eval)
    result["rtn"] = model_ppl({n: bf16(fake_quant(W[n])) for i in range(L) for n in linears(i)}, a.eval)
    print(json.dumps({"fp": result["fp"], "rtn": result["rtn"]}), flush=True)

# calibration windows (datautils.py): tokenize once, random.seed(seed), randint(0, n − seqlen − 1)
calib_ids = torch.tensor(tok.encode(open(a.calib, encoding="utf-8", newline="").read(), add_special_tokens=False).ids, device=dev)
random.seed(a.seed)
starts = [random.randint(0, calib_ids.numel() - a.seqlen - 1) for _ in range(a.nsamples)]
inps = torch.stack([W["model.embed_tokens.weight"][calib_ids[s : s + a.seqlen]] for s in starts])
fp_inps, quant_inps = inps.clone(), inps.clone()
qw, layers = {}, []
t0 = time.time()
for i in range(L):
    tl = time.time()
    with torch.no_grad():
        fp_out = torch.cat([block(fp_inps[j : j + 1], i, {}) for j in range(a.nsamples)])
        fp_out2 = torch.cat([block(quant_inps[j : j + 1], i, {}) for j in range(a.nsamples)]) if a.aug_loss else None
    names = linears(i)
    groups = {n: W[n].numel() // (W[n].shape[1] if a.group <= 0 else a.group) for n in names}
    up = {n: torch.full((groups[n], 1), 4.0, device=dev, requires_grad=True) for n in names}
    low = {n: torch.full((groups[n], 1), 4.0, device=dev, requires_grad=True) for n in names}
    opt = torch.optim.AdamW([{"params": [t for n in names for t in (up[n], low[n])], "lr": a.lr}], weight_decay=0)
    quant = lambda: {n: fake_quant(W[n], up[n], low[n]) for n in names}
    with torch.no_grad():
        q0 = quant()
        before = sum(F.mse_loss(block(quant_inps[j : j + 1], i, q0), fp_out[j : j + 1]).item() for j in range(a.nsamples)) / a.nsamples
    epoch_loss = []
    for ep in range(a.epochs):
        tot = torch.zeros((), device=dev)
        for j in range(a.nsamples):
            out = block(quant_inps[j : j + 1], i, quant())
            loss = F.mse_loss(fp_out[j : j + 1], out)
            if a.aug_loss:
                loss = loss + F.mse_loss(fp_out2[j : j + 1], out)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.detach()
        epoch_loss.append(tot.item() / a.nsamples)
    with torch.no_grad():
        final = {n: bf16(t) for n, t in quant().items()}
        qw.update(final)
        outs = [block(quant_inps[j : j + 1], i, final) for j in range(a.nsamples)]
        after = sum(F.mse_loss(o, fp_out[j : j + 1]).item() for j, o in enumerate(outs)) / a.nsamples
        quant_inps = torch.cat(outs)
        fp_inps = fp_out
    layers.append({"layer": i, "mse_before": before, "mse_after": after, "epoch_loss": epoch_loss, "seconds": time.time() - tl})
    print(f"layer {i + 1}/{L}: mse {before:.4e} -> {after:.4e} ({time.time() - tl:.1f} s)", flush=True)
result["train_seconds"] = time.time() - t0
result["layers"] = layers
result["omniquant"] = model_ppl(qw, a.eval)
print(json.dumps({k: result[k] for k in ("fp", "rtn", "omniquant") if k in result}), flush=True)
if a.json:
    json.dump(result, open(a.json, "w"), indent=1)
