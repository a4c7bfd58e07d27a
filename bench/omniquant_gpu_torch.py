# Torch peer of memc's CUDA LWC training step (bench/omniquant-gpu.ts drives it through execa in the same device call).
# Mirrors OpenGVLab/OmniQuant quantize/omniquant.py + quantize/quantizer.py (UniformAffineQuantizer, lwc=True) +
# models/int_llama_layer.py (QuantLlamaDecoderLayer, eager attention, softmax in fp32) + utils.NativeScalerWithGradNormCount:
# the layer is cast to fp32 for training, the two activation streams are fp16, each step runs under
# torch.cuda.amp.autocast() (fp16) with a GradScaler, AdamW(lr 1e-2, wd 0) over the clip logits, batch 1,
# loss.item() and the grad norm read back every step as the reference does. Prints one JSON line.
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, required=True)
p.add_argument("--mlp", type=int, required=True)
p.add_argument("--heads", type=int, required=True)
p.add_argument("--kv-heads", type=int, required=True)
p.add_argument("--head-dim", type=int, default=0)
p.add_argument("--seqlen", type=int, required=True)
p.add_argument("--windows", type=int, required=True)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--wbits", type=int, default=4)
p.add_argument("--group", type=int, default=128)
p.add_argument("--theta", type=float, default=10000.0)
p.add_argument("--eps", type=float, default=1e-5)
a = p.parse_args()
dev = "cuda"
torch.manual_seed(0)
D, FF, H, KH = a.hidden, a.mlp, a.heads, a.kv_heads
Dh = a.head_dim or D // H
T = a.seqlen


def round_ste(x):
    return (x.round() - x).detach() + x


class LwcLinear(nn.Module):
    """QuantLinear with UniformAffineQuantizer(lwc=True), asymmetric, per (row, group)."""

    def __init__(self, out_f, in_f):
        super().__init__()
        w = (torch.randn(out_f, in_f) * 0.02).to(torch.bfloat16).float()  # random bf16 weights
        self.weight = nn.Parameter(w, requires_grad=False)
        g = a.group if a.group > 0 else in_f
        self.g = g
        dim = out_f * (in_f // g)
        self.upbound_factor = nn.Parameter(torch.ones((dim, 1)) * 4.0)
        self.lowbound_factor = nn.Parameter(torch.ones((dim, 1)) * 4.0)
        self.qmax = 2 ** a.wbits - 1

    def fake_quant(self):
        x = self.weight.reshape(-1, self.g)
        xmin = x.amin(-1, keepdim=True)
        xmax = x.amax(-1, keepdim=True)
        xmax = torch.sigmoid(self.upbound_factor) * xmax
        xmin = torch.sigmoid(self.lowbound_factor) * xmin
        scale = ((xmax - xmin) / self.qmax).clamp(min=1e-5, max=1e4)
        zero = (-xmin / scale).clamp(min=-1e4, max=1e4).round()
        x_int = (round_ste(x / scale) + zero).clamp(0, self.qmax)
        return (x_int - zero).mul(scale).reshape(self.weight.shape)

    def forward(self, x):
        return F.linear(x, self.fake_quant())


class RMSNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(D), requires_grad=False)

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + a.eps)
        return self.weight * x.to(dt)


inv = 1.0 / (a.theta ** (torch.arange(0, Dh, 2, dtype=torch.float32) / Dh))
ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
emb = torch.cat((ang, ang), -1)
COS, SIN = emb.cos().to(dev), emb.sin().to(dev)


def rot_half(x):
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2 :]
    return torch.cat((-x2, x1), -1)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = LwcLinear(H * Dh, D), LwcLinear(KH * Dh, D), LwcLinear(KH * Dh, D), LwcLinear(D, H * Dh)
        self.gate, self.up, self.down = LwcLinear(FF, D), LwcLinear(FF, D), LwcLinear(D, FF)
        self.n1, self.n2 = RMSNorm(), RMSNorm()
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def forward(self, x):
        B = x.shape[0]
        h = self.n1(x)
        q = self.q(h).view(B, T, H, Dh).transpose(1, 2)
        k = self.k(h).view(B, T, KH, Dh).transpose(1, 2)
        v = self.v(h).view(B, T, KH, Dh).transpose(1, 2)
        q = q * COS + rot_half(q) * SIN
        k = k * COS + rot_half(k) * SIN
        k = k.repeat_interleave(H // KH, dim=1)
        v = v.repeat_interleave(H // KH, dim=1)
        s = q @ k.transpose(2, 3) / math.sqrt(Dh) + self.mask
        pr = F.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
        o = (pr @ v).transpose(1, 2).reshape(B, T, H * Dh)
        x = x + self.o(o)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


layer = Layer().to(dev)
N = a.windows
fp_inps = torch.randn(N, T, D, device=dev, dtype=torch.float16)
quant_inps = fp_inps.clone()
with torch.no_grad():
    fp_outs = torch.stack([layer(fp_inps[j : j + 1].float())[0] for j in range(N)]).half()
params = [p_ for n_, p_ in layer.named_parameters() if "bound_factor" in n_]
opt = torch.optim.AdamW([{"params": params, "lr": 1e-2}], weight_decay=0)
scaler = torch.cuda.amp.GradScaler()
loss_fn = nn.MSELoss()


def step(j):
    with torch.cuda.amp.autocast():
        out = layer(quant_inps[j : j + 1])
        loss = loss_fn(fp_outs[j : j + 1], out)
    if not math.isfinite(loss.item()):
        raise SystemExit("loss is nan")
    opt.zero_grad()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    norm = torch.norm(torch.stack([torch.norm(p_.grad.detach(), 2.0) for p_ in params if p_.grad is not None]), 2.0)
    scaler.step(opt)
    scaler.update()
    return loss.item(), norm.item()


for j in range(min(2, N)):  # warm-up (cuBLAS handles, autocast caches)
    step(j)
torch.cuda.synchronize()
torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
steps = 0
for ep in range(a.epochs):
    for j in range(N):
        step(j)
        steps += 1
torch.cuda.synchronize()
ms = (time.perf_counter() - t0) * 1000 / steps
t1 = time.perf_counter()
with torch.no_grad(), torch.cuda.amp.autocast():
    for j in range(N):
        layer(quant_inps[j : j + 1])
torch.cuda.synchronize()
fwd = (time.perf_counter() - t1) * 1000 / N
print(json.dumps({"impl": "torch", "torch": torch.__version__, "device": torch.cuda.get_device_name(), "stepMs": ms, "forwardMs": fwd, "steps": steps, "peakBytes": torch.cuda.max_memory_allocated(), "autocast": "fp16 (torch.cuda.amp.autocast default) + GradScaler, layer fp32, streams fp16"}))
