// Events the library emits instead of printing; src/ui renders them (progress bar on a TTY, plain lines otherwise).

export interface ProgressEvent {
  kind: "progress";
  /** What is running, e.g. "eval english-heldout.txt" or "rtn". */
  task: string;
  done: number;
  total: number;
  unit: string;
  /** Short live detail, e.g. "ppl 38.81" or "layer 3/8". */
  detail?: string;
}

export interface LogEvent {
  kind: "log";
  level: "info" | "warn";
  message: string;
}

export type MemcEvent = ProgressEvent | LogEvent;
export type Emit = (e: MemcEvent) => void;

export const silent: Emit = () => {};
