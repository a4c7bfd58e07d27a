// Mean-pooled hidden states against transformers: golden.safetensors holds hidden_last.K [64, hidden] for
// input_ids.K; the mean of its first L rows is the oracle for a sequence cut to L tokens (causal attention).
// Batched with right padding to different lengths, so the padding/pooling logic is what is tested.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHARED_FIXTURES, hasShared, modelDir } from "../helpers/fixtures.js";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32, toInts } from "../../src/runtime/convert.js";
import { meanPooled } from "../../src/passes/embed/encode.js";
import { silent } from "../../src/util/events.js";

test("meanPooled(llama-t) = mean of transformers' hidden_last rows, for sequences of 64, 40 and 17 tokens", { skip: hasShared ? false : "no fixtures" }, async () => {
  const dir = modelDir("llama-t");
  const g = await SafetensorsFile.open(join(SHARED_FIXTURES, "models", "llama-t", "golden.safetensors"));
  const lens = [64, 40, 17];
  const ids: Int32Array[] = [], hidden: Float32Array[] = [];
  for (let k = 0; k < 3; k++) {
    const info = g.info(`input_ids.${k}`);
    ids.push(toInts(await g.readBytes(`input_ids.${k}`), info.dtype).subarray(0, lens[k]));
    hidden.push(toF32(await g.readBytes(`hidden_last.${k}`), g.info(`hidden_last.${k}`).dtype));
  }
  await g.close();
  const ck = await openCheckpoint(dir);
  const D = ck.spec.hidden;
  const got = await meanPooled(ck, ids, silent);
  for (let k = 0; k < 3; k++) {
    let maxErr = 0, maxAbs = 0;
    for (let j = 0; j < D; j++) {
      let m = 0;
      for (let t = 0; t < lens[k]!; t++) m += hidden[k]![t * D + j]! / lens[k]!;
      maxErr = Math.max(maxErr, Math.abs(got[k * D + j]! - m));
      maxAbs = Math.max(maxAbs, Math.abs(m));
    }
    assert.ok(maxErr < 1e-3 * maxAbs, `sequence ${k} (${lens[k]} tokens): max error ${maxErr} vs max |mean| ${maxAbs}`);
  }
});
