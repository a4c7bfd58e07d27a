// Runs the real CLI (bin/memc.js) as a user would and captures exit code, stdout and stderr.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./fixtures.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function memc(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/memc.js"), ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
