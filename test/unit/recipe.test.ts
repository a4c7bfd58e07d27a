// Recipes: strict validation (unknown keys, bad pass params) and an unchanged save → load round trip.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRecipe, saveRecipe, validateRecipe } from "../../src/recipe/io.js";

const base = { memc: 1, model: "fixtures/llama-t", passes: [{ method: "rtn", params: { wbits: 4, group_size: 32 } }], output: { dir: "out" } };

test("defaults are filled in and the recipe round-trips through YAML unchanged", async () => {
  const r = validateRecipe(structuredClone(base), "t");
  assert.deepEqual(r.passes[0]!.params, { wbits: 4, group_size: 32, sym: false, exclude: [] });
  const d = mkdtempSync(join(tmpdir(), "memc-recipe-"));
  await saveRecipe(join(d, "r.yaml"), r);
  assert.deepEqual(await loadRecipe(join(d, "r.yaml")), r);
  rmSync(d, { recursive: true });
});

test("unknown keys and bad params are errors that name the place", () => {
  assert.throws(() => validateRecipe({ ...base, extra: 1 }, "r.yaml"), /r\.yaml: invalid recipe: .*extra/);
  assert.throws(() => validateRecipe({ ...base, passes: [{ method: "rtn", params: { wbits: 4, group_size: 32, groupsize: 3 } }] }, "r.yaml"), /passes\.0 \(rtn\).*groupsize/);
  assert.throws(() => validateRecipe({ ...base, passes: [{ method: "rtn", params: { wbits: 1, group_size: 32 } }] }, "r.yaml"), /passes\.0 \(rtn\): wbits/);
  assert.throws(() => validateRecipe({ ...base, passes: [{ method: "gptq" }] }, "r.yaml"), /unknown method "gptq"/);
});
