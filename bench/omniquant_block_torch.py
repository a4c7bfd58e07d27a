# transformers LlamaDecoderLayer + torch autograd as the oracle for memc's training block (src/nn/train/block.ts):
# same weights, input and upstream gradient (bench/omniquant-block-case.ts), fp32 CPU, sdpa causal attention.
# Usage: python3 THIS CASE.json
import json, sys
import torch
import transformers
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

c = json.load(open(sys.argv[1]))
d = c["dims"]
cfg = LlamaConfig(hidden_size=d["D"], intermediate_size=d["F"], num_attention_heads=d["H"], num_key_value_heads=d["KH"],
                  head_dim=d["Dh"], rms_norm_eps=d["eps"], rope_theta=d["theta"], max_position_embeddings=128, attention_bias=False)
cfg._attn_implementation = "sdpa"
layer = LlamaDecoderLayer(cfg, 0).float()
T, D = d["T"], d["D"]
names = {"q": "self_attn.q_proj.weight", "k": "self_attn.k_proj.weight", "v": "self_attn.v_proj.weight", "o": "self_attn.o_proj.weight",
         "gate": "mlp.gate_proj.weight", "up": "mlp.up_proj.weight", "down": "mlp.down_proj.weight",
         "inputNorm": "input_layernorm.weight", "postNorm": "post_attention_layernorm.weight"}
params = dict(layer.named_parameters())
with torch.no_grad():
    for k, n in names.items():
        params[n].copy_(torch.tensor(c["w"][k], dtype=torch.float32).reshape(params[n].shape))
x = torch.tensor(c["x"], dtype=torch.float32).reshape(1, T, D).requires_grad_()
pos = torch.arange(T)[None]
cos, sin = LlamaRotaryEmbedding(cfg)(x, pos)
out = layer(x, attention_mask=None, position_ids=pos, position_embeddings=(cos, sin))
y = out[0] if isinstance(out, tuple) else out
(y * torch.tensor(c["dy"], dtype=torch.float32).reshape(1, T, D)).sum().backward()

def rel(a, b):
    a, b = a.flatten(), torch.tensor(b, dtype=torch.float32).flatten()
    return float((a - b).abs().max() / a.abs().max().clamp(min=1e-12))

errs = {"y": rel(y.detach(), c["y"]), "x": rel(x.grad, c["grad"]["x"])}
for k, n in names.items():
    errs[k] = rel(params[n].grad, c["grad"][k])
print(f"transformers {transformers.__version__}, torch {torch.__version__}")
for k, e in errs.items():
    print(f"{k:10s} max|Δ|/max|ref| = {e:.2e}")
print("ALL OK" if max(errs.values()) < 1e-4 else "MISMATCH")
