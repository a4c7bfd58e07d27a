// `memc embed` end to end on the llama-t fixture: model mode (stored tensors checked against the scalar codec
// and a naive fp64 reconstruction; other tensors byte-identical), vectors mode (recall recomputed naively), exit codes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, evalText, hasShared, modelDir } from "../helpers/fixtures.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32 } from "../../src/runtime/convert.js";
import { decodeFloat8, encodeFloat8 } from "../../src/runtime/float8.js";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { reconstructEmbeddingTables } from "../../src/passes/embed/reconstruct.js";
import { writeNpy } from "../../src/passes/embed/npy.js";
import { sampleRows } from "../../src/passes/embed/vectors.js";

const skip = hasShared ? false : "shared fixtures not found";
const memc = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin/memc.js"), "embed", ...args], { encoding: "utf8" });

test("model mode, e4m3 plain cast: codes = scalar cast of the bf16 table, everything else byte-identical", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-e2e-"));
  try {
    const src = modelDir("llama-t"), out = join(dir, "o");
    const r = memc(src, "-o", out, "--float8", "e4m3", "--ppl", evalText("english-heldout.txt"), "--seqlen", "256", "--max-windows", "1", "--json");
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.tables[0].ratio, 2); // bf16 → 1 byte, no extras
    assert.ok(Math.abs(rep.ppl.after[0].ppl / rep.ppl.before[0].ppl - 1) < 0.05, JSON.stringify(rep.ppl));
    const a = await SafetensorsFile.open(join(src, "model.safetensors"));
    const b = await SafetensorsFile.open(join(out, "model.safetensors"));
    assert.equal(b.has("model.embed_tokens.weight"), false);
    for (const n of a.names()) if (n !== "model.embed_tokens.weight") assert.deepEqual(await b.readBytes(n), await a.readBytes(n), n);
    const x = toF32(await a.readBytes("model.embed_tokens.weight"), "BF16");
    const codes = await b.readBytes("model.embed_tokens.weight_f8");
    assert.equal(b.info("model.embed_tokens.weight_f8").dtype, "F8_E4M3");
    for (let i = 0; i < x.length; i++) if (codes[i] !== encodeFloat8(x[i]!, "e4m3")) assert.fail(`code ${i}: ${codes[i]} for ${x[i]}`);
    await a.close();
    await b.close();
    const ck = await openCheckpoint(out);
    const t = (await reconstructEmbeddingTables(ck)).get("model.embed_tokens.weight")!;
    await ck.weights.close();
    for (let i = 0; i < x.length; i++) if (t[i] !== decodeFloat8(codes[i]!, "e4m3")) assert.fail(`value ${i}`);
    assert.ok(readFileSync(join(out, "memc.recipe.yaml"), "utf8").includes("float8: e4m3"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("model mode, PCA 0.5 + e4m3 row scale on embed and lm_head: loader = naive fp64 reconstruction", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-e2e-"));
  try {
    const out = join(dir, "o");
    const r = memc(modelDir("llama-t"), "-o", out, "--float8", "e4m3", "--pca", "0.5", "--scale", "row", "--tables", "embed,lm_head");
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.deepEqual(Object.keys(cfg.memc_embedding.tables).sort(), ["lm_head.weight", "model.embed_tokens.weight"]);
    const f = await SafetensorsFile.open(join(out, "model.safetensors"));
    const ck = await openCheckpoint(out);
    const tables = await reconstructEmbeddingTables(ck);
    await ck.weights.close();
    for (const base of ["model.embed_tokens", "lm_head"]) {
      const codes = await f.readBytes(`${base}.weight_f8`);
      const scale = toF32(await f.readBytes(`${base}.weight_scale`), "F32");
      const basis = toF32(await f.readBytes(`${base}.pca_basis`), "F32");
      const mean = toF32(await f.readBytes(`${base}.pca_mean`), "F32");
      assert.deepEqual(f.info(`${base}.pca_basis`).shape, [64, 128]);
      const got = tables.get(`${base}.weight`)!;
      for (let row = 0; row < 8192; row += 97) {
        for (let j = 0; j < 128; j++) {
          let v = mean[j]!;
          for (let c = 0; c < 64; c++) v += decodeFloat8(codes[row * 64 + c]!, "e4m3") * scale[row]! * basis[c * 128 + j]!;
          assert.ok(Math.abs(got[row * 128 + j]! - v) < 1e-5, `${base} [${row},${j}]: ${got[row * 128 + j]} vs ${v}`);
        }
      }
    }
    await f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vectors mode: reported recall@10 = naive recomputation from the written file", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-e2e-"));
  try {
    const f = await SafetensorsFile.open(join(modelDir("llama-t"), "model.safetensors"));
    const n = 1500, d = 128;
    const x = toF32(await f.readRange("model.embed_tokens.weight", 0, n * d * 2), "BF16");
    await f.close();
    await writeNpy(join(dir, "v.npy"), x, n, d);
    const r = memc(join(dir, "v.npy"), "-o", join(dir, "o"), "--float8", "e5m2", "--query-count", "40", "--seed", "3", "--json");
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    const o = await SafetensorsFile.open(join(dir, "o", "vectors.safetensors"));
    const codes = await o.readBytes("vectors.weight_f8");
    await o.close();
    const xs = Float64Array.from(codes, (c) => decodeFloat8(c, "e5m2"));
    const top = (v: ArrayLike<number>, qr: number): number[] => {
      const s: { id: number; c: number }[] = [];
      const qn = Math.hypot(...Array.from({ length: d }, (_, j) => v[qr * d + j]!));
      for (let i = 0; i < n; i++) {
        if (i === qr) continue;
        let dot = 0, nn = 0;
        for (let j = 0; j < d; j++) { dot += v[qr * d + j]! * v[i * d + j]!; nn += v[i * d + j]! ** 2; }
        s.push({ id: i, c: nn > 0 && qn > 0 ? dot / (qn * Math.sqrt(nn)) : 0 }); // zero rows (unused tokens) score 0
      }
      return s.sort((a, b) => b.c - a.c || a.id - b.id).slice(0, 10).map((e) => e.id);
    };
    let rec = 0;
    for (const qr of sampleRows(n, 40, 3)) {
      const t = new Set(top(x, qr));
      rec += top(xs, qr).filter((id) => t.has(id)).length / 10;
    }
    assert.ok(Math.abs(rep.retrieval.stored.recall - rec / 40) < 0.0051, `${rep.retrieval.stored.recall} vs ${rec / 40}`);
    assert.equal(rep.bytes.ratio, (n * d * 4) / (n * d));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad usage exits 2 and names the value", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-e2e-"));
  try {
    const m = modelDir("llama-t");
    for (const [args, msg] of [
      [["--pca", "1.5"], "--pca 1.5"],
      [["--float8", "e3m4"], "--float8 e3m4"],
      [["--float8", "none"], "nothing to compress"],
      [["--tables", "embed,wte"], "wte"],
    ] as const) {
      const r = memc(m, "-o", join(dir, "x"), ...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(msg), r.stderr);
    }
    const r = memc(join(m, "model.safetensors"), "-o", join(dir, "y"));
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes("--tensor"), r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
