// Runs a GGUF file in real llama.cpp through node-llama-cpp's prebuilt CPU binaries (npm `node-llama-cpp` +
// `@node-llama-cpp/linux-x64`; `build: "never"` so nothing is compiled or downloaded). Optional: resolved at run
// time from the project's node_modules or MEMC_NODE_LLAMA_CPP (path to its dist/index.js).

import { InputError } from "../../util/errors.js";

type Nlc = {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: { modelPath: string }): Promise<NlcModel> }>;
  LlamaLogLevel: Record<string, unknown>;
};
type NlcModel = {
  createContext(o: Record<string, unknown>): Promise<{ getSequence(): NlcSeq; dispose(): Promise<void> }>;
  tokenize(text: string, special?: boolean): number[];
  dispose(): Promise<void>;
};
type NlcSeq = {
  controlledEvaluate(input: unknown[]): Promise<({ next: { logits?: Map<number, number> } } | undefined)[]>;
  clearHistory(): Promise<void>;
};

/** The node-llama-cpp module, or undefined with the reason when it cannot be loaded. */
export async function loadNodeLlamaCpp(): Promise<{ mod?: Nlc; why?: string }> {
  const candidates = [process.env.MEMC_NODE_LLAMA_CPP, "node-llama-cpp"].filter((x): x is string => !!x);
  const errs: string[] = [];
  for (const c of candidates) {
    try {
      return { mod: (await import(c)) as Nlc };
    } catch (e) {
      errs.push(`${c}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { why: `node-llama-cpp not found (${errs.join("; ")}); install it with npm (prebuilt CPU binaries ship in @node-llama-cpp/linux-x64) or set MEMC_NODE_LLAMA_CPP` };
}

export interface LlamaCppRun {
  /** per window: logits [S, V] row-major */
  logits: Float32Array[];
  seconds: number;
}

/** Evaluates each window from an empty KV cache on llama.cpp's CPU backend; returns all positions' logits. */
export async function llamaCppLogits(ggufPath: string, windows: ArrayLike<number>[], vocab: number, threads = 0): Promise<LlamaCppRun> {
  const { mod, why } = await loadNodeLlamaCpp();
  if (!mod) throw new InputError(why!);
  const llama = await mod.getLlama({ gpu: false, build: "never", logLevel: mod.LlamaLogLevel.error, ...(threads ? { maxThreads: threads } : {}) });
  const model = await llama.loadModel({ modelPath: ggufPath });
  const S = Math.max(...windows.map((w) => w.length));
  const ctx = await model.createContext({ contextSize: S + 64, batchSize: S, sequences: 1 });
  const seq = ctx.getSequence();
  const t0 = performance.now();
  const out: Float32Array[] = [];
  try {
    for (const w of windows) {
      await seq.clearHistory();
      const r = await seq.controlledEvaluate(Array.from(w, (t) => [t, { generateNext: { logits: true } }]));
      const lg = new Float32Array(w.length * vocab);
      r.forEach((x, t) => {
        for (const [tok, v] of x?.next.logits ?? []) lg[t * vocab + tok] = v;
      });
      out.push(lg);
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
  return { logits: out, seconds: (performance.now() - t0) / 1000 };
}
