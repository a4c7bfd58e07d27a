// Cuts a fixture's golden.safetensors (transformers' fp32 logits, 6.4 MB) down to what fits the GPU machine's 64 MiB
// carry: input_ids.K, hidden_last.K (all positions) and logits.K at every 9th position (0, 9, …, 63) as logits_sub.K.
// Run here: node dist/test/gpu/golden-subset.js OUT_DIR [names…]  → OUT_DIR/<name>.golden-subset.safetensors

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { writeSafetensors, type TensorSource } from "../../src/model/safetensors/writer.js";
import { toF32 } from "../../src/runtime/convert.js";
import { SHARED_FIXTURES } from "../helpers/fixtures.js";

export const SUBSET_POSITIONS = [0, 9, 18, 27, 36, 45, 54, 63];

async function cut(name: string, outDir: string): Promise<string> {
  const g = await SafetensorsFile.open(join(SHARED_FIXTURES, "models", name, "golden.safetensors"));
  const tensors: TensorSource[] = [];
  try {
    for (const k of [0, 1, 2]) {
      const ids = await g.readBytes(`input_ids.${k}`);
      tensors.push({ name: `input_ids.${k}`, dtype: "I64", shape: [ids.byteLength / 8], bytes: () => ids });
      const h = await g.readBytes(`hidden_last.${k}`);
      const hs = g.info(`hidden_last.${k}`).shape;
      tensors.push({ name: `hidden_last.${k}`, dtype: "F32", shape: [...hs], bytes: () => h });
      const logits = toF32(await g.readBytes(`logits.${k}`), "F32");
      const V = g.info(`logits.${k}`).shape.at(-1)!;
      const sub = new Float32Array(SUBSET_POSITIONS.length * V);
      SUBSET_POSITIONS.forEach((p, i) => sub.set(logits.subarray(p * V, (p + 1) * V), i * V));
      tensors.push({ name: `logits_sub.${k}`, dtype: "F32", shape: [SUBSET_POSITIONS.length, V], bytes: () => new Uint8Array(sub.buffer) });
    }
  } finally {
    await g.close();
  }
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.golden-subset.safetensors`);
  await writeSafetensors(file, tensors, { keepOrder: true });
  return file;
}

if (process.argv[1]?.endsWith("golden-subset.js")) {
  const [outDir, ...names] = process.argv.slice(2);
  if (!outDir) throw new Error("usage: golden-subset.js OUT_DIR [names…]");
  for (const n of names.length ? names : ["llama-t", "moe-t"]) console.log(await cut(n, outDir));
}
