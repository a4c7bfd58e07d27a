// Renders library events: cli-progress bars on a TTY, plain throttled lines otherwise; always on stderr,
// so stdout stays clean for results and --json.

import cliProgress from "cli-progress";
import type { Emit, MemcEvent } from "../util/events.js";

export interface RenderOptions {
  quiet?: boolean;
}

export function renderer(opts: RenderOptions = {}): Emit & { stop(): void } {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let barTask = "";
  let lastLine = 0;
  let lastTask = "";
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const emit = (e: MemcEvent) => {
    if (opts.quiet) return;
    if (e.kind === "log") {
      stop();
      process.stderr.write(`${e.level === "warn" ? "warning: " : ""}${e.message}\n`);
      return;
    }
    if (tty) {
      if (!bar || barTask !== e.task) {
        stop();
        bar = new cliProgress.SingleBar(
          { format: `${e.task} [{bar}] {value}/{total} ${e.unit} | {detail} | {eta_formatted} left`, hideCursor: true, stream: process.stderr, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.total, 0, { detail: "" });
        barTask = e.task;
      }
      bar.update(e.done, { detail: e.detail ?? "" });
      if (e.done >= e.total) stop();
      return;
    }
    const now = Date.now();
    if (e.task !== lastTask || e.done >= e.total || now - lastLine > 5000) {
      process.stderr.write(`${e.task}: ${e.done}/${e.total} ${e.unit}${e.detail ? ` (${e.detail})` : ""}\n`);
      lastLine = now;
      lastTask = e.task;
    }
  };
  return Object.assign(emit, { stop });
}
