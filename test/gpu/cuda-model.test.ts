// Model-level checks on the GPU: the CUDA forward vs transformers' fp32 golden outputs (hidden_last at all positions,
// logits at 8 positions — the subset that fits the GPU machine's carry; the full file is used where present), and
// perplexity on CUDA vs the CPU backend on the same tokens. Skips without a GPU.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { loadTokenizer } from "../../src/model/tokenizer.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32, toInts } from "../../src/runtime/convert.js";
import { CpuOps } from "../../src/runtime/cpu/ops.js";
import { freeHead, hiddenStates, loadHead } from "../../src/nn/forward.js";
import { perplexity } from "../../src/eval/perplexity.js";
import { silent } from "../../src/util/events.js";
import { evalText, modelDir, ROOT, SHARED_FIXTURES } from "../helpers/fixtures.js";
import { compare, cudaOps, fmtErr, noGpu } from "./helpers.js";
import { SUBSET_POSITIONS } from "./golden-subset.js";

const SUBSET_DIR = process.env.MEMC_GOLDEN_SUBSET ?? join(ROOT, ".gpufx");
const lines: string[] = [];

function goldenFile(name: string): { path: string; subset: boolean } | undefined {
  const full = join(SHARED_FIXTURES, "models", name, "golden.safetensors");
  if (existsSync(full)) return { path: full, subset: false };
  const sub = join(SUBSET_DIR, `${name}.golden-subset.safetensors`);
  return existsSync(sub) ? { path: sub, subset: true } : undefined;
}

for (const name of ["llama-t", "moe-t", "llama-s", "moe-s"]) {
  const g = goldenFile(name);
  const haveModel = existsSync(join(modelDir(name), "model.safetensors"));
  const skip = noGpu || (!g && `no golden file for ${name}`) || (!haveModel && `model ${name} not present`);
  test(`golden logits on cuda: ${name}`, { skip }, async () => {
    const ops = await cudaOps();
    const ckpt = await openCheckpoint(modelDir(name));
    const golden = await SafetensorsFile.open(g!.path);
    const head = await loadHead(ops, ckpt.weights, ckpt.spec);
    try {
      for (const k of [0, 1, 2]) {
        const ids = toInts(await golden.readBytes(`input_ids.${k}`), "I64");
        const wantH = toF32(await golden.readBytes(`hidden_last.${k}`), "F32");
        const h = await hiddenStates(ops, ckpt.spec, ckpt.weights, head, ids, ids.length);
        const lt = await ops.linear(h, head.lmHead);
        let logits = await ops.download(lt);
        const gotH = await ops.download(h);
        ops.free(lt);
        ops.free(h);
        let want: Float32Array;
        if (g!.subset) {
          want = toF32(await golden.readBytes(`logits_sub.${k}`), "F32");
          const V = want.length / SUBSET_POSITIONS.length;
          const sub = new Float32Array(want.length);
          SUBSET_POSITIONS.forEach((p, i) => sub.set(logits.subarray(p * V, (p + 1) * V), i * V));
          logits = sub;
        } else want = toF32(await golden.readBytes(`logits.${k}`), "F32");
        const e = compare(logits, want);
        const eh = compare(gotH, wantH);
        lines.push(`golden ${name} seq ${k}: logits ${fmtErr(e)} | hidden ${fmtErr(eh)}${g!.subset ? " (logits at 8 positions)" : ""}`);
        // same threshold as the CPU golden test: fp32 on both sides, summation order differs (~1e-5 relative)
        assert.ok(e.relL2 < 1e-4, `${name} seq ${k}: logits ${fmtErr(e)}`);
        assert.ok(eh.relL2 < 1e-4, `${name} seq ${k}: hidden ${fmtErr(eh)}`);
      }
    } finally {
      freeHead(ops, head);
      await golden.close();
      await ckpt.weights.close();
    }
  });
}

const PPL_WINDOWS = Number(process.env.MEMC_GPU_PPL_WINDOWS ?? 24);

for (const name of ["llama-t", "moe-t", "llama-s", "moe-s"]) {
  // the full held-out text where ../shared is present, else the bundled first 128 KiB of it
  const text = existsSync(evalText("english-heldout.txt")) ? evalText("english-heldout.txt") : join(ROOT, "fixtures", "text", "english-sample.txt");
  const haveModel = existsSync(join(modelDir(name), "model.safetensors"));
  const skip = noGpu || (!haveModel && `model ${name} not present`) || (!existsSync(text) && "no english-heldout.txt");
  test(`perplexity cuda = cpu within 0.1%: ${name}, ${PPL_WINDOWS} windows of 512`, { skip }, async () => {
    const ops = await cudaOps();
    const ckpt = await openCheckpoint(modelDir(name));
    const tok = await loadTokenizer(modelDir(name));
    // the first ~64 KB of text is enough for 24 windows and keeps the JS tokenizer quick
    const tokens = tok.encode(readFileSync(text, "utf8").slice(0, PPL_WINDOWS * 512 * 6));
    const o = { seqlen: 512, maxWindows: PPL_WINDOWS, chunkTokens: 8192 };
    try {
      assert.ok(tokens.length >= PPL_WINDOWS * 512, `only ${tokens.length} tokens`);
      const gpu = await perplexity(ops, ckpt.spec, ckpt.weights, tokens, o, silent);
      const cpuOps = new CpuOps();
      const cpu = await perplexity(cpuOps, ckpt.spec, ckpt.weights, tokens, o, silent);
      await cpuOps.dispose();
      const rel = Math.abs(gpu.ppl / cpu.ppl - 1);
      lines.push(`ppl ${name} (${gpu.windows}×512): cuda ${gpu.ppl.toFixed(5)} cpu ${cpu.ppl.toFixed(5)} rel ${rel.toExponential(2)}; cuda ${gpu.tokensPerSecond.toFixed(0)} tok/s, cpu ${cpu.tokensPerSecond.toFixed(0)} tok/s`);
      // both fp32 with different summation orders; 0.1% is the bar (the printed line has the measured gap)
      assert.ok(rel < 1e-3, `${name}: cuda ppl ${gpu.ppl} vs cpu ${cpu.ppl}`);
      assert.equal(ops.memory().liveTensors, 0, "tensors leaked by the forward on cuda");
      // bf16 GEMM mode (what a bf16 runtime computes): inputs of every GEMM rounded to bf16, fp32 accumulate.
      // Not the fp32 oracle, so only a sanity bound: 1% (the printed line has the measured gap).
      const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
      const bf = await perplexity(new CudaOps(ops.dev, { gemm: "bf16" }), ckpt.spec, ckpt.weights, tokens, o, silent);
      const fl = await perplexity(new CudaOps(ops.dev, { attention: "flash" }), ckpt.spec, ckpt.weights, tokens, o, silent);
      const relFl = Math.abs(fl.ppl / cpu.ppl - 1);
      lines.push(`ppl ${name} (${fl.windows}×512): cuda fp32 flash-attention ${fl.ppl.toFixed(5)} vs cpu rel ${relFl.toExponential(2)}; ${fl.tokensPerSecond.toFixed(0)} tok/s`);
      assert.ok(relFl < 1e-3, `${name}: cuda flash ppl ${fl.ppl} vs cpu ${cpu.ppl}`);
      const relBf = Math.abs(bf.ppl / cpu.ppl - 1);
      lines.push(`ppl ${name} (${bf.windows}×512): cuda bf16-GEMM ${bf.ppl.toFixed(5)} vs cpu fp32 rel ${relBf.toExponential(2)}; ${bf.tokensPerSecond.toFixed(0)} tok/s`);
      assert.ok(relBf < 1e-2, `${name}: cuda bf16 ppl ${bf.ppl} vs cpu ${cpu.ppl}`);
      assert.equal(ops.memory().inUse, 0, "device bytes leaked (bf16 shadows?)");
    } finally {
      await ckpt.weights.close();
    }
  });
}

after(async () => {
  if (noGpu) return;
  for (const l of lines) console.log(l);
  await (await cudaOps()).dispose();
});
