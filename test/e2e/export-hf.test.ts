// llama-t / moe-t → fake-quant (RTN, scales in the storage dtype) → packed GPTQ / compressed-tensors dir →
// PackedWeights reads back the very same fp32 weights; names, shapes, dtypes and quantization_config per spec.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { quantizableLinears } from "../../src/model/names.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { writeDirAtomically } from "../../src/export/atomic.js";
import { PackedWeights } from "../../src/export/hf/read.js";
import { writePackedCheckpoint } from "../../src/export/hf/write.js";
import { writeFakeQuant } from "./export-helpers.js";

const MODELS = "../shared/fixtures/models";

for (const model of ["llama-t", "moe-t"]) {
  for (const format of ["ct", "gptq", "gptq_v2"] as const) {
    for (const sym of [false, true]) {
      test(`${model} → ${format} (w4 g32 ${sym ? "sym" : "asym"}) → read back bit for bit`, async () => {
        const tmp = await mkdtemp(join(tmpdir(), "memc-export-hf-"));
        try {
          const fq = join(tmp, "fq");
          const scaleDtype = format === "ct" ? "BF16" : "F16";
          const want = await writeFakeQuant(join(MODELS, model), fq, { bits: 4, groupSize: 32, sym }, scaleDtype);
          const ck = await openCheckpoint(fq);
          const out = join(tmp, "packed");
          const rep = await writeDirAtomically(out, (d) => writePackedCheckpoint(ck, d, { format, bits: 4, groupSize: 32, sym }));
          await ck.weights.close();
          const packedCount = rep.layers.filter((l) => l.packed).length;
          assert.ok(packedCount > 0);
          for (const l of rep.layers) if (l.packed && l.changed !== undefined) assert.equal(l.changed, 0, l.module);
          const cfg = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
          const qc = cfg.quantization_config;
          const sf = await SafetensorsFile.open(join(out, "model.safetensors"));
          const m0 = quantizableLinears(ck.spec, 0)[0]!; // q_proj [128, 128]
          if (format === "ct") {
            assert.equal(qc.quant_method, "compressed-tensors");
            assert.equal(qc.format, "pack-quantized");
            assert.deepEqual(qc.config_groups.group_0.weights.group_size, 32);
            assert.equal(qc.config_groups.group_0.weights.symmetric, sym);
            assert.ok(qc.ignore.includes("lm_head"));
            if (model === "moe-t") assert.ok(qc.ignore.includes("re:.*block_sparse_moe\\.gate$"));
            assert.deepEqual(sf.info(`${m0}.weight_packed`).shape, [128, 16]);
            assert.equal(sf.info(`${m0}.weight_packed`).dtype, "I32");
            assert.deepEqual(sf.info(`${m0}.weight_scale`).shape, [128, 4]);
            assert.equal(sf.info(`${m0}.weight_scale`).dtype, "BF16");
            assert.equal(sf.info(`${m0}.weight_shape`).dtype, "I64");
            assert.equal(sf.has(`${m0}.weight_zero_point`), !sym);
            if (!sym) assert.deepEqual(sf.info(`${m0}.weight_zero_point`).shape, [16, 4]);
          } else {
            assert.equal(qc.quant_method, "gptq");
            assert.equal(qc.checkpoint_format, format);
            assert.equal(qc.desc_act, false);
            assert.deepEqual(sf.info(`${m0}.qweight`).shape, [16, 128]);
            assert.deepEqual(sf.info(`${m0}.qzeros`).shape, [4, 16]);
            assert.deepEqual(sf.info(`${m0}.scales`).shape, [4, 128]);
            assert.equal(sf.info(`${m0}.scales`).dtype, "F16");
            assert.deepEqual(sf.info(`${m0}.g_idx`).shape, [128]);
          }
          assert.ok(!sf.has(`${m0}.weight`));
          assert.ok(sf.has("lm_head.weight") && sf.has("model.embed_tokens.weight"));
          await sf.close();
          const pw = await PackedWeights.open(out);
          for (const [name, w] of want) {
            const got = await pw.f32(name);
            assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(w.buffer), name);
          }
          await pw.close();
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      });
    }
  }
}

test("moe-t → ct-fp8 (float-quantized, channel): F8_E4M3 weights, [N, 1] scales, router and lm_head dense and ignored", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-export-fp8-"));
  try {
    const ck = await openCheckpoint(join(MODELS, "moe-t"));
    const out = join(tmp, "fp8");
    await writeDirAtomically(out, (d) => writePackedCheckpoint(ck, d, { format: "ct-fp8", bits: 8, groupSize: -1, sym: true }));
    const qc = JSON.parse(await readFile(join(out, "config.json"), "utf8")).quantization_config;
    assert.equal(qc.format, "float-quantized");
    assert.deepEqual(qc.config_groups.group_0.weights.type, "float");
    assert.ok(qc.ignore.includes("lm_head") && qc.ignore.includes("re:.*block_sparse_moe\\.gate$"));
    const sf = await SafetensorsFile.open(join(out, "model.safetensors"));
    const m = "model.layers.1.block_sparse_moe.experts.3.w2";
    assert.equal(sf.info(`${m}.weight`).dtype, "F8_E4M3");
    assert.deepEqual(sf.info(`${m}.weight_scale`).shape, [128, 1]);
    assert.equal(sf.info("model.layers.1.block_sparse_moe.gate.weight").dtype, "BF16");
    await sf.close();
    const pw = await PackedWeights.open(out);
    const w = await ck.weights.f32(`${m}.weight`);
    const got = await pw.f32(`${m}.weight`);
    for (let n = 0; n < 128; n++) {
      let amax = 0;
      for (let k = 0; k < 256; k++) amax = Math.max(amax, Math.abs(w[n * 256 + k]!));
      // e4m3 keeps 3 mantissa bits: |error| ≤ 2^-4 relative, plus the subnormal step 2^-9 · scale
      for (let k = 0; k < 256; k++) assert.ok(Math.abs(got[n * 256 + k]! - w[n * 256 + k]!) <= Math.abs(w[n * 256 + k]!) / 16 + (amax / 448) * 2 ** -9 * 1.01);
    }
    await pw.close();
    await ck.weights.close();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
