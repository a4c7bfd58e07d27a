# Torch-autograd oracle for memc's LWC backward: mirrors OmniQuant quantize/quantizer.py (UniformAffineQuantizer,
# lwc=True, per (row, group), round_ste, zero point via .round(), scale clamp [1e-5, 1e4]) in fp32 on the CPU and
# compares Ŵ, dγ, dβ with the values memc wrote (bench/omniquant-lwc-case.ts). Usage: python3 THIS CASE.json
import json, sys
import torch

CLIPMIN = 1e-5

def round_ste(x):
    return (x.round() - x).detach() + x

def lwc_fake_quant(w, up_f, low_f, bits, group, sym):
    qmin, qmax = 0, 2 ** bits - 1
    rows, cols = w.shape
    x = w.reshape(-1, group)
    xmin = x.amin([-1], keepdim=True)
    xmax = x.amax([-1], keepdim=True)
    xmax = torch.sigmoid(up_f) * xmax
    xmin = torch.sigmoid(low_f) * xmin
    if sym:
        abs_max = torch.max(xmax.abs(), xmin.abs())
        scale = (abs_max / (2 ** (bits - 1) - 1)).clamp(min=CLIPMIN, max=1e4)
        zero_point = (2 ** (bits - 1) - 1) * torch.ones_like(scale)
    else:
        scale = ((xmax - xmin) / (2 ** bits - 1)).clamp(min=CLIPMIN, max=1e4)
        zero_point = -(xmin) / scale
    rz = zero_point.clamp(min=-1e4, max=1e4).round()
    x_int = round_ste(x / scale).add(rz).clamp(qmin, qmax)
    return x_int.sub(rz).mul(scale).reshape(rows, cols)

cases = json.load(open(sys.argv[1]))
ok = True
for c in cases:
    R, C, G = c["rows"], c["cols"], c["group"]
    w = torch.tensor(c["w"], dtype=torch.float32).reshape(R, C)
    g = torch.tensor(c["gamma"], dtype=torch.float32).reshape(-1, 1).requires_grad_()
    b = torch.tensor(c["beta"], dtype=torch.float32).reshape(-1, 1).requires_grad_()
    up = torch.tensor(c["up"], dtype=torch.float32).reshape(R, C)
    wq = lwc_fake_quant(w, g, b, c["bits"], G, c["sym"])
    (wq * up).sum().backward()
    mwq = torch.tensor(c["wq"]).reshape(R, C)
    dg, db = torch.tensor(c["dgamma"]), torch.tensor(c["dbeta"])
    d = (mwq - wq.detach()).abs()
    n_wq = int((d > 1e-6 * wq.detach().abs().max()).sum())  # beyond fp32 rounding of h (σ differs by ≤ 1 ulp between libms)
    n_exact = int((d != 0).sum())
    eg = float(((g.grad.flatten() - dg).abs() / g.grad.flatten().abs().clamp(min=1e-3)).max())
    eb = float(((b.grad.flatten() - db).abs() / b.grad.flatten().abs().clamp(min=1e-3)).max())
    good = n_wq == 0 and eg < 1e-3 and eb < 1e-3
    ok &= good
    print(f"bits={c['bits']} group={G} sym={c['sym']}: Ŵ differing beyond 1e-6·max|Ŵ| {n_wq}/{R*C} (bitwise-different {n_exact}, max |Δ| {float(d.max()):.2e}), max rel err dγ {eg:.2e}, dβ {eb:.2e} {'OK' if good else 'FAIL'}")
print("ALL OK" if ok else "MISMATCH")
