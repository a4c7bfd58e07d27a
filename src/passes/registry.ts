// Every pass memc knows, by method name (recipes and `memc quantize --method` look them up here).

import { InputError } from "../util/errors.js";
import { rtn } from "./rtn/index.js";
import { omniquant } from "./omniquant/index.js";
import type { PassDefinition } from "./types.js";

export const PASSES: Record<string, PassDefinition<any>> = { rtn, omniquant };

export function getPass(method: string): PassDefinition<unknown> {
  const p = PASSES[method];
  if (!p) throw new InputError(`unknown method "${method}" (available: ${Object.keys(PASSES).join(", ")})`);
  return p;
}
