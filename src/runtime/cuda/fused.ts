// The optional fused ops of the CUDA backend (Ops.linearMany / mlp / moeExperts): the same math as the primitive ops,
// fewer launches and no host round trips. In bf16 GEMM mode an activation is cast to bf16 once per use site (shared
// by q/k/v, by gate/up), SwiGLU writes bf16 straight into the down projection's input, and the MoE gather casts as it
// copies. The MoE dispatch follows transformers' MixtralSparseMoeBlock with the bookkeeping on the device
// (kernels/moe_dispatch.cu): one device→host copy per layer (E expert counts, to size the per-expert GEMMs).

import type { MlpWeights } from "../ops.js";
import { shapes } from "../null/shapes.js";
import type { DevicePtr } from "./ffi/driver.js";
import type { CudaOps, CudaTensor } from "./ops.js";
import { i32, i64, ptr } from "./program.js";

const EW_BLOCK = 256;
/** per-expert row counts are padded to this (kernels/moe_dispatch.cu says why) */
const MOE_ROW_PAD = 128;
const gridFor = (n: number) => Math.max(1, Math.min(Math.ceil(n / EW_BLOCK), 1 << 20));

/** x [M, K] → [x·wᵢᵀ + bᵢ]; bf16 mode casts x once for all of them. */
export async function linearMany(ops: CudaOps, x: CudaTensor, ws: ReadonlyArray<{ w: CudaTensor; bias?: CudaTensor }>): Promise<CudaTensor[]> {
  if (ops.gemmMode !== "bf16" || x.size === 0) return Promise.all(ws.map((p) => ops.linear(x, p.w, p.bias)));
  const [M, K] = [x.shape[0]!, x.shape[1]!];
  for (const p of ws) shapes.linear(x.shape, p.w.shape, p.bias?.shape);
  const xb = ops.toBf16(x.ptr, M * K);
  const out = ws.map((p) => {
    const N = p.w.shape[0]!;
    const y = ops.alloc([M, N]);
    if (N > 0) ops.gemm(y.ptr, xb, p.w.ptr, M, K, N, p.w, true);
    if (p.bias && N > 0) ops.run("elementwise.cu", "add_bias_rows", [gridFor(M * N), 1, 1], EW_BLOCK, [ptr(y.ptr), ptr(p.bias.ptr), i64(M), i32(N)]);
    return y;
  });
  ops.dev.allocator.free(xb);
  return out;
}

/** Scratch of one MLP call: gate and up outputs (fp32) and the SwiGLU product (bf16 in bf16 mode), for ≥ M rows. */
interface MlpScratch {
  g: DevicePtr;
  u: DevicePtr;
  h: DevicePtr;
}

function mlpScratch(ops: CudaOps, rows: number, F: number): MlpScratch {
  const a = ops.dev.allocator;
  return { g: a.alloc(rows * F * 4), u: a.alloc(rows * F * 4), h: a.alloc(rows * F * (ops.gemmMode === "bf16" ? 2 : 4)) };
}

function freeScratch(ops: CudaOps, s: MlpScratch): void {
  for (const p of [s.g, s.u, s.h]) ops.dev.allocator.free(p);
}

/** y [M, D] = down(silu(x·gateᵀ) ⊙ x·upᵀ) for raw device rows; x is bf16 when `xBf16` (bf16 mode), else fp32. */
function mlpRows(ops: CudaOps, y: DevicePtr, x: DevicePtr, xBf16: boolean, M: number, m: MlpWeights<CudaTensor>, scratch?: MlpScratch): void {
  const [F, D] = [m.gate.shape[0]!, m.gate.shape[1]!];
  const { g, u, h } = scratch ?? mlpScratch(ops, M, F);
  ops.gemm(g, x, m.gate.ptr, M, D, F, m.gate, xBf16);
  ops.gemm(u, x, m.up.ptr, M, D, F, m.up, xBf16);
  const bf16 = ops.gemmMode === "bf16";
  if (bf16) ops.run("moe_dispatch.cu", "swiglu_bf16", [gridFor(M * F), 1, 1], EW_BLOCK, [ptr(h), ptr(g), ptr(u), i64(M * F)]);
  else ops.run("elementwise.cu", "swiglu", [gridFor(M * F), 1, 1], EW_BLOCK, [ptr(h), ptr(g), ptr(u), i64(M * F)]);
  ops.gemm(y, h, m.down.ptr, M, F, m.down.shape[0]!, m.down, bf16);
  if (!scratch) freeScratch(ops, { g, u, h });
}

/** x [S, D] → [S, D] */
export async function mlp(ops: CudaOps, x: CudaTensor, m: MlpWeights<CudaTensor>): Promise<CudaTensor> {
  const [S, D] = [x.shape[0]!, x.shape[1]!];
  shapes.linear(x.shape, m.gate.shape);
  shapes.linear(x.shape, m.up.shape);
  shapes.linear([S, m.gate.shape[0]!], m.down.shape);
  const y = ops.alloc([S, m.down.shape[0]!]);
  if (S === 0) return y;
  const bf16 = ops.gemmMode === "bf16";
  const xb = bf16 ? ops.toBf16(x.ptr, S * D) : x.ptr;
  mlpRows(ops, y.ptr, xb, bf16, S, m);
  if (bf16) ops.dev.allocator.free(xb);
  return y;
}

/** x [S, D], logits [S, E] → Σ over each token's top-k experts of weight · expert(x), ascending expert order. */
export async function moeExperts(ops: CudaOps, x: CudaTensor, logits: CudaTensor, experts: ReadonlyArray<MlpWeights<CudaTensor>>, k: number, renormalize: boolean): Promise<CudaTensor> {
  const [S, E] = shapes.route(logits.shape, k);
  const D = x.shape[1]!;
  if (x.shape[0] !== S || experts.length !== E) throw new Error(`moeExperts: x [${x.shape.join(", ")}], logits [${logits.shape.join(", ")}], ${experts.length} experts`);
  if (k > 16 || E > 1024) throw new Error(`moeExperts: top-${k} of ${E} experts (kernels/moe_dispatch.cu takes k ≤ 16, E ≤ 1024)`);
  const out = ops.alloc([S, D]);
  if (S === 0) return out;
  const a = ops.dev.allocator;
  const R = S * k;
  const Rp = R + E * (MOE_ROW_PAD - 1); // rows of the padded, expert-grouped buffers (upper bound)
  const bf16 = ops.gemmMode === "bf16";
  const ep = a.alloc(R * 4), wp = a.alloc(R * 4), pos = a.alloc(R * 4);
  const counts = a.alloc(E * 4), slots = a.alloc(E * S * 4);
  const xg = a.alloc(Rp * D * (bf16 ? 2 : 4)), yg = a.alloc(Rp * D * 4);
  ops.run("moe.cu", "route_topk", [Math.ceil(S / 128), 1, 1], 128, [ptr(ep), ptr(wp), ptr(logits.ptr), i32(S), i32(E), i32(k), i32(renormalize ? 1 : 0)]);
  ops.run("moe_dispatch.cu", "moe_expert_lists", [E, 1, 1], 1024, [ptr(counts), ptr(slots), ptr(pos), ptr(ep), i32(S), i32(k)]);
  ops.run("moe_dispatch.cu", bf16 ? "moe_gather_bf16" : "moe_gather_f32", [Rp, 1, 1], 128, [ptr(xg), ptr(x.ptr), ptr(counts), ptr(slots), i32(S), i32(k), i32(D), i32(E), i32(MOE_ROW_PAD)]);
  const n = new Int32Array(E);
  a.copyOut(n, counts); // the one device→host copy: GEMM sizes
  const rows = Array.from(n, (c) => Math.ceil(c / MOE_ROW_PAD) * MOE_ROW_PAD);
  // one scratch for all experts, sized for the largest (rounded to 1024 rows so its size rarely changes between calls)
  const F = Math.max(...experts.map((m) => m.gate.shape[0]!));
  const scratch = mlpScratch(ops, Math.ceil(Math.max(...rows) / 1024) * 1024, F);
  let off = 0;
  for (let e = 0; e < E; e++) {
    if (rows[e]! > 0) mlpRows(ops, yg + off * D * 4, xg + off * D * (bf16 ? 2 : 4), bf16, rows[e]!, experts[e]!, scratch);
    off += rows[e]!;
  }
  freeScratch(ops, scratch);
  ops.run("moe_dispatch.cu", "moe_combine", [S, 1, 1], 128, [ptr(out.ptr), ptr(yg), ptr(ep), ptr(wp), ptr(pos), ptr(counts), i32(S), i32(k), i32(D), i32(E), i32(MOE_ROW_PAD)]);
  for (const p of [ep, wp, pos, counts, slots, xg, yg]) a.free(p);
  return out;
}
