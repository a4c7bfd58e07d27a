// Atomic output directories: everything is written into a sibling temp dir and renamed into place at the end,
// so an interrupted or failed run never leaves a directory that looks complete.

import { existsSync, readdirSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../util/errors.js";

export interface AtomicDir {
  /** Where to write now. */
  tmp: string;
  /** Final location. */
  out: string;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function beginAtomicDir(out: string, overwrite = false): Promise<AtomicDir> {
  const final = resolve(out);
  if (existsSync(final) && readdirSync(final).length > 0 && !overwrite) {
    throw new InputError(`${out}: output directory exists and is not empty (pass --overwrite to replace it)`);
  }
  await mkdir(dirname(final), { recursive: true });
  const tmp = join(dirname(final), `.${basename(final)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(tmp);
  return {
    tmp,
    out: final,
    async commit() {
      if (existsSync(final)) {
        const old = `${tmp}.old`;
        await rename(final, old);
        await rename(tmp, final);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(tmp, final);
      }
    },
    async abort() {
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Runs `fill(tmpDir)` and commits, or removes the temp dir on any failure. */
export async function writeAtomically<R>(out: string, overwrite: boolean, fill: (dir: string) => Promise<R>): Promise<R> {
  const d = await beginAtomicDir(out, overwrite);
  try {
    const r = await fill(d.tmp);
    await d.commit();
    return r;
  } catch (e) {
    await d.abort();
    throw e;
  }
}
