// Bad input exits with code 2 and a message naming the file, tensor and value; nothing half-written is left.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memc } from "../helpers/cli.js";
import { modelDir } from "../helpers/fixtures.js";

const work = mkdtempSync(join(tmpdir(), "memc-bad-"));
const text = join(work, "t.txt");
writeFileSync(text, "The quick brown fox jumps over the lazy dog. ".repeat(400));

/** A copy of llama-t whose model.safetensors (or config) is then damaged by `damage`. */
function brokenModel(name: string, damage: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(modelDir("llama-t"), dir, { recursive: true });
  damage(dir);
  return dir;
}

function st(dir: string): { path: string; buf: Buffer; n: number; header: Record<string, any> } {
  const path = join(dir, "model.safetensors");
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return { path, buf, n, header: JSON.parse(buf.subarray(8, 8 + n).toString()) };
}

/** Re-serialises a modified header in the same byte length (space padded) so only the intended fault differs. */
function rewriteHeader(dir: string, edit: (h: Record<string, any>) => void): void {
  const { path, buf, n, header } = st(dir);
  edit(header);
  const json = JSON.stringify(header);
  assert.ok(json.length <= n, "edited header must fit");
  writeFileSync(path, Buffer.concat([buf.subarray(0, 8), Buffer.from(json.padEnd(n, " ")), buf.subarray(8 + n)]));
}

function expectBad(args: string[], pattern: RegExp): void {
  const r = memc(...args);
  assert.equal(r.code, 2, `exit code ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

const evalArgs = (dir: string) => ["eval", dir, "--ppl", text, "--seqlen", "64", "--max-windows", "1"];

test("truncated file", () => {
  const dir = brokenModel("trunc", (d) => {
    const p = join(d, "model.safetensors");
    const b = readFileSync(p);
    writeFileSync(p, b.subarray(0, b.length - 1000));
  });
  expectBad(evalArgs(dir), /model\.safetensors: tensor data ends at \d+ but the file holds \d+ data bytes \(file truncated\?/);
});

test("header length past the end of the file", () => {
  const dir = brokenModel("hdrlen", (d) => {
    const p = join(d, "model.safetensors");
    const b = readFileSync(p);
    b.writeBigUInt64LE(BigInt(b.length * 2), 0);
    writeFileSync(p, b);
  });
  expectBad(evalArgs(dir), /header length \d+ runs past the end of the \d+-byte file/);
});

test("overlapping offsets", () => {
  const dir = brokenModel("overlap", (d) =>
    rewriteHeader(d, (h) => {
      const t = h["model.embed_tokens.weight"];
      t.data_offsets = [t.data_offsets[0] - 2, t.data_offsets[1] - 2];
    }),
  );
  expectBad(evalArgs(dir), /tensor model\.embed_tokens\.weight: data_offsets \[\d+, \d+\] overlaps the previous tensor/);
});

test("out-of-range offsets", () => {
  const dir = brokenModel("range", (d) =>
    rewriteHeader(d, (h) => {
      const t = h["model.norm.weight"];
      t.data_offsets = [t.data_offsets[0] + 4096, t.data_offsets[1] + 4096];
    }),
  );
  expectBad(evalArgs(dir), /model\.norm\.weight: data_offsets \[\d+, \d+\] leaves a hole before it|tensor data ends at/);
});

test("unknown dtype", () => {
  const dir = brokenModel("dtype", (d) => rewriteHeader(d, (h) => (h["model.norm.weight"].dtype = "BF17")));
  expectBad(evalArgs(dir), /tensor model\.norm\.weight: unknown dtype "BF17"/);
});

test("dtype/shape/byte-size mismatch", () => {
  const dir = brokenModel("size", (d) => rewriteHeader(d, (h) => (h["model.norm.weight"].dtype = "F32")));
  expectBad(evalArgs(dir), /tensor model\.norm\.weight: F32 \[128\] needs 512 bytes but data_offsets \[\d+, \d+\] hold 256/);
});

test("shape that disagrees with config.json", () => {
  const dir = brokenModel("shape", (d) => {
    const p = join(d, "config.json");
    const c = JSON.parse(readFileSync(p, "utf8"));
    c.intermediate_size = 384;
    writeFileSync(p, JSON.stringify(c));
  });
  expectBad(evalArgs(dir), /model\.layers\.0\.mlp\.(gate|up)_proj\.weight: expected shape \[384,128\], found BF16 \[352,128\]/);
});

test("missing tensor", () => {
  const dir = brokenModel("missing", (d) => rewriteHeader(d, (h) => {
    h["model.norm.weightX"] = h["model.norm.weight"];
    delete h["model.norm.weight"];
  }));
  expectBad(evalArgs(dir), /missing tensor model\.norm\.weight/);
});

test("unknown model_type", () => {
  const dir = brokenModel("mtype", (d) => {
    const p = join(d, "config.json");
    writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), model_type: "gpt_neox" }));
  });
  expectBad(evalArgs(dir), /config\.json: unknown model_type "gpt_neox"/);
});

test("missing tokenizer", () => {
  const dir = brokenModel("notok", (d) => rmSync(join(d, "tokenizer.json")));
  expectBad(evalArgs(dir), /notok: missing tokenizer\.json/);
});

test("group size that does not divide a layer's input width; no output left behind", () => {
  const out = join(work, "q-bad");
  expectBad(["quantize", modelDir("llama-t"), "-o", out, "--wbits", "4", "--group-size", "128"], /model\.layers\.0\.mlp\.down_proj\.weight: group size 128 does not divide the input width 352/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes("q-bad")), []);
});

test("bad option values are usage errors", () => {
  expectBad(["quantize", modelDir("llama-t"), "-o", join(work, "q2"), "--wbits", "four"], /expected an integer, got "four"/);
  expectBad(["quantize", modelDir("llama-t"), "-o", join(work, "q3"), "--wbits", "9", "--group-size", "32"], /wbits/);
  expectBad(["eval", modelDir("llama-t"), "--ppl", join(work, "nope.txt")], /nope\.txt: no such file/);
  expectBad([...evalArgs(modelDir("llama-t")), "--gemm", "fp16"], /--gemm fp16: expected fp32, tf32 or bf16/);
  const omni = ["quantize", modelDir("llama-t"), "-o", join(work, "q4"), "--method", "omniquant", "--wbits", "4", "--group-size", "-1", "--calib", text];
  expectBad([...omni, "--alpha", "0.75"], /--let-lr\/--alpha set the LET parameters: add --let/);
  expectBad([...omni, "--let", "--alpha", "2"], /alpha: Too big/);
});

test("existing output directory is not clobbered without --overwrite", () => {
  const out = join(work, "exists");
  cpSync(modelDir("llama-t"), out, { recursive: true });
  expectBad(["quantize", modelDir("llama-t"), "-o", out, "--wbits", "4", "--group-size", "32"], /exists and is not empty \(pass --overwrite/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
