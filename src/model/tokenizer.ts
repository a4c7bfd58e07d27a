// tokenizer.json through @huggingface/tokenizers (pure JS; matches transformers' token counts on the fixtures).

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { InputError } from "../util/errors.js";

export interface TextTokenizer {
  /** Token ids of the whole text, no BOS/EOS added. */
  encode(text: string): Int32Array;
}

export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) throw new InputError(`${dir}: missing tokenizer.json (needed to tokenize text)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const cfgPath = join(dir, "tokenizer_config.json");
  const cfg = existsSync(cfgPath) ? JSON.parse(await readFile(cfgPath, "utf8")) : {};
  const tok = new Tokenizer(json as never, cfg);
  return { encode: (text) => Int32Array.from(tok.encode(text, { add_special_tokens: false }).ids) };
}
