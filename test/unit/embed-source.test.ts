// Row sources: safetensors row ranges (bf16 → fp32) equal the same rows of the whole tensor; tensor choice errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { hasShared, modelDir } from "../helpers/fixtures.js";
import { openVectorSource } from "../../src/passes/embed/source.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { bf16ToF32 } from "../../src/runtime/dtypes.js";
import { InputError } from "../../src/util/errors.js";

test("safetensors source: rows [100, 111) of embed_tokens = the bf16 bytes decoded one by one", { skip: hasShared ? false : "no fixtures" }, async () => {
  const path = join(modelDir("llama-t"), "model.safetensors");
  const src = await openVectorSource(path, "model.embed_tokens.weight");
  assert.deepEqual([src.rows, src.dim, src.sourceBytes, src.sourceDtype], [8192, 128, 2, "BF16"]);
  const got = await src.read(100, 11);
  await src.close();
  const f = await SafetensorsFile.open(path);
  const raw = await f.readBytes("model.embed_tokens.weight");
  await f.close();
  for (let i = 0; i < 11 * 128; i++) assert.equal(got[i], bf16ToF32(raw.readUInt16LE(2 * (100 * 128 + i))));
  await assert.rejects(openVectorSource(path), (e: unknown) => e instanceof InputError && /--tensor/.test(e.message));
  await assert.rejects(openVectorSource(path, "model.norm.weight"), (e: unknown) => e instanceof InputError && /expected \[n, d\]/.test(e.message));
});
