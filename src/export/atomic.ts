// Atomic artifact directories: everything is written into a sibling temp dir, renamed into place at the end,
// so an interrupted export never leaves a directory that looks complete.

import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputError } from "../util/errors.js";

export async function writeDirAtomically<T>(outDir: string, fill: (tmpDir: string) => Promise<T>, overwrite = false): Promise<T> {
  if (existsSync(outDir) && !overwrite) throw new InputError(`${outDir}: already exists (pass --force to replace it)`);
  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(outDir)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp);
  try {
    const r = await fill(tmp);
    if (existsSync(outDir)) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return r;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
