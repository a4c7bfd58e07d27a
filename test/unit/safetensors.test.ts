// safetensors: byte-identical round trips of torch-written files, shards + index, files past 4 GiB, header checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { writeSafetensors, type TensorSource } from "../../src/model/safetensors/writer.js";
import { planShards, writeSharded } from "../../src/model/safetensors/shards.js";
import { WeightStore } from "../../src/model/weights.js";
import { modelDir, hasShared, SHARED_FIXTURES } from "../helpers/fixtures.js";

const tmp = () => mkdtempSync(join(tmpdir(), "memc-st-"));

async function rewrite(src: string, dst: string): Promise<void> {
  const f = await SafetensorsFile.open(src);
  const sources: TensorSource[] = f.names().map((name) => {
    const i = f.info(name);
    return { name, dtype: i.dtype, shape: i.shape, bytes: () => f.readBytes(name) };
  });
  await writeSafetensors(dst, sources, { metadata: f.header.metadata });
  await f.close();
}

for (const file of ["llama-t/model.safetensors", "moe-t/model.safetensors", "llama-t/golden.safetensors"]) {
  test(`round trip is byte-identical: ${file}`, { skip: !hasShared && "needs ../shared/fixtures" }, async () => {
    const d = tmp();
    const src = join(SHARED_FIXTURES, "models", file);
    await rewrite(src, join(d, "out.safetensors"));
    assert.ok(readFileSync(src).equals(readFileSync(join(d, "out.safetensors"))), "rewritten file differs from torch's");
    rmSync(d, { recursive: true });
  });
}

test("shards: greedy in key order under the cap, index maps every tensor, WeightStore reads them back", async () => {
  const d = tmp();
  const f = await SafetensorsFile.open(join(modelDir("llama-t"), "model.safetensors"));
  const sources: TensorSource[] = f.names().map((name) => ({ ...f.info(name), bytes: () => f.readBytes(name) }));
  const plan = planShards(sources, 1_500_000);
  assert.ok(plan.files.length >= 3, `expected ≥3 shards, got ${plan.files.length}`);
  assert.equal(plan.files[0]!.file, `model-00001-of-0000${plan.files.length}.safetensors`);
  const files = await writeSharded(d, sources, 1_500_000);
  assert.ok(files.includes("model.safetensors.index.json"));
  const index = JSON.parse(readFileSync(join(d, "model.safetensors.index.json"), "utf8"));
  assert.equal(Object.keys(index.weight_map).length, f.names().length);
  assert.equal(index.metadata.total_size, f.names().reduce((a, n) => a + f.info(n).end - f.info(n).begin, 0));
  const store = await WeightStore.open(d);
  for (const name of f.names()) assert.ok((await store.bytes(name)).equals(await f.readBytes(name)), name);
  await store.close();
  await f.close();
  rmSync(d, { recursive: true });
});

test("reads a tensor that lies past 4 GiB (sparse file)", async () => {
  const d = tmp();
  const path = join(d, "big.safetensors");
  const big = 4 * 1024 ** 3 + 1024; // U8 tensor of 4 GiB + 1 KiB, never materialised
  const header = JSON.stringify({ __metadata__: { format: "pt" }, a_big: { dtype: "U8", shape: [big], data_offsets: [0, big] }, b_small: { dtype: "F32", shape: [2], data_offsets: [big, big + 8] } });
  const padded = header.padEnd(Math.ceil(header.length / 8) * 8, " ");
  const fd = openSync(path, "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded.length));
  writeSync(fd, len, 0, 8, 0);
  writeSync(fd, Buffer.from(padded), 0, padded.length, 8);
  ftruncateSync(fd, 8 + padded.length + big + 8);
  const small = Buffer.from(new Float32Array([1.5, -2.25]).buffer);
  writeSync(fd, small, 0, 8, 8 + padded.length + big);
  closeSync(fd);
  const f = await SafetensorsFile.open(path);
  const got = new Float32Array((await f.readBytes("b_small")).buffer.slice(0));
  assert.deepEqual([...got], [1.5, -2.25]);
  await f.close();
  rmSync(d, { recursive: true });
});

test("writer: header is compact, metadata first, padded with spaces to a multiple of 8, canonical order", async () => {
  const d = tmp();
  const p = join(d, "x.safetensors");
  await writeSafetensors(p, [
    { name: "b", dtype: "F16", shape: [3], bytes: () => new Uint8Array(6) },
    { name: "a", dtype: "F32", shape: [1], bytes: () => new Uint8Array(4) },
    { name: "c", dtype: "I64", shape: [1], bytes: () => new Uint8Array(8) },
  ]);
  const buf = readFileSync(p);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const text = buf.subarray(8, 8 + n).toString();
  assert.equal(
    text.trimEnd(),
    '{"__metadata__":{"format":"pt"},"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"b":{"dtype":"F16","shape":[3],"data_offsets":[12,18]}}',
  );
  assert.equal(buf.length, 8 + n + 18);
  rmSync(d, { recursive: true });
});

test("writer refuses a byte count that does not match dtype × shape", async () => {
  const d = tmp();
  await assert.rejects(writeSafetensors(join(d, "x.safetensors"), [{ name: "w", dtype: "BF16", shape: [4], bytes: () => new Uint8Array(6) }]), /w: BF16 \[4\] needs 8 bytes, got 6/);
  rmSync(d, { recursive: true });
});

export function writeRaw(path: string, header: string, dataBytes: number): void {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([len, Buffer.from(header), Buffer.alloc(dataBytes)]));
}
