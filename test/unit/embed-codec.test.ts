// The embed codec: scale modes against per-element scalar casts, and the safetensors layout round trip
// (write → read back → reconstruct) against the in-memory result; .npy round trip.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeFloat8, encodeFloat8 } from "../../src/runtime/float8.js";
import { compressMatrix, decodeStored, reconstructMatrix } from "../../src/passes/embed/codec.js";
import { layoutTensors } from "../../src/passes/embed/layout.js";
import { readCompressed } from "../../src/passes/embed/reconstruct.js";
import { readNpyInfo, readNpyRows, writeNpy } from "../../src/passes/embed/npy.js";
import { writeSafetensors } from "../../src/model/safetensors/writer.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";

function data(rows: number, cols: number, seed: number): Float32Array {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  return Float32Array.from({ length: rows * cols }, (_, i) => rnd() * (1 + (i % cols)) * 0.05 * (1 + Math.floor(i / cols) % 5));
}

test("scale none/tensor/row: decoded values = scalar cast of x / scale, scale = absmax / max8", async () => {
  const rows = 9, cols = 7, x = data(rows, cols, 3);
  for (const fmt of ["e4m3", "e5m2"] as const) {
    const max8 = fmt === "e4m3" ? 448 : 57344;
    for (const mode of ["none", "tensor", "row"] as const) {
      const c = await compressMatrix(x, rows, cols, { float8: fmt, scale: mode, plainDtype: "F32" });
      const got = decodeStored(c);
      let tmax = 0;
      for (const v of x) tmax = Math.max(tmax, Math.abs(v));
      for (let r = 0; r < rows; r++) {
        let rmax = 0;
        for (let j = 0; j < cols; j++) rmax = Math.max(rmax, Math.abs(x[r * cols + j]!));
        const s = mode === "none" ? 1 : Math.fround((mode === "row" ? rmax : tmax) / max8);
        if (mode === "row") assert.equal(c.f8!.scales[r], s);
        for (let j = 0; j < cols; j++) {
          const want = Math.fround(decodeFloat8(encodeFloat8(Math.fround(x[r * cols + j]! / s), fmt), fmt) * s);
          assert.equal(got[r * cols + j], want, `${fmt}/${mode} [${r},${j}]`);
        }
      }
      if (mode === "tensor") assert.equal(c.f8!.scales[0], Math.fround(tmax / max8));
    }
  }
});

test("layout round trip: safetensors on disk reconstructs exactly what the in-memory codec gives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-embed-"));
  try {
    const rows = 300, dim = 24, x = data(rows, dim, 5);
    const cases = [
      { float8: "e4m3", pca: 0.5, scale: "row" },
      { float8: "e5m2", scale: "tensor" },
      { float8: "none", pca: 0.25, scale: "none" },
    ] as const;
    for (const [i, p] of cases.entries()) {
      const c = await compressMatrix(x, rows, dim, { ...p, plainDtype: "BF16" });
      const want = await reconstructMatrix(c);
      const { entry, tensors } = layoutTensors("t", c, "F32");
      const path = join(dir, `c${i}.safetensors`);
      await writeSafetensors(path, tensors);
      const f = await SafetensorsFile.open(path);
      const back = await readCompressed({ info: (n) => f.info(n), bytes: (n) => f.readBytes(n) }, entry, path);
      const dtypes = Object.fromEntries(f.header.tensors.map((t) => [t.name, t.dtype]));
      await f.close();
      assert.equal(dtypes[entry.values], p.float8 === "e4m3" ? "F8_E4M3" : p.float8 === "e5m2" ? "F8_E5M2" : "BF16");
      assert.deepEqual(await reconstructMatrix(back), want, JSON.stringify(p));
      assert.equal(c.k, "pca" in p ? Math.round(p.pca * dim) : dim);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(".npy write/read round trip, row ranges", async () => {
  const dir = mkdtempSync(join(tmpdir(), "memc-npy-"));
  try {
    const x = data(11, 5, 8);
    const p = join(dir, "v.npy");
    await writeNpy(p, x, 11, 5);
    const info = await readNpyInfo(p);
    assert.equal(info.rows, 11);
    assert.equal(info.cols, 5);
    assert.equal(info.dataOffset % 64, 0);
    assert.deepEqual(await readNpyRows(info, 3, 4), x.slice(15, 35));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
