// memc's commander program: global options, one verb per file in src/commands, exit codes 0/1/2.

import { Command, CommanderError } from "commander";
import { COMMANDS } from "./commands/index.js";
import { exitCodeOf } from "./util/errors.js";

export function buildProgram(): Command {
  const program = new Command("memc")
    .description("Compress and quantize LLM checkpoints (HF safetensors) and measure what it cost.")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const debug = process.env.MEMC_DEBUG === "1";
    console.error(`memc: ${debug && e instanceof Error ? e.stack : e instanceof Error ? e.message : String(e)}`);
    process.exitCode = exitCodeOf(e);
  }
}
