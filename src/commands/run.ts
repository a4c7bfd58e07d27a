// `memc run RECIPE.yaml`: the CI entry point — validate the recipe, run its pass, write the artifact, apply eval gates.

import type { Command } from "commander";
import { loadRecipe } from "../recipe/io.js";
import { runRecipe } from "../pipeline/run.js";
import { checkGates, runGates } from "../pipeline/gates.js";
import { renderer } from "../ui/progress.js";

export function register(program: Command): void {
  program
    .command("run")
    .description("Run a recipe (memc.recipe.yaml): pass → artifact → optional perplexity gates (exit 1 when a gate fails)")
    .argument("<recipe>", "recipe YAML file (every memc output directory holds the one that made it)")
    .option("--overwrite", "replace the output directory if it exists")
    .option("--json", "print the report and gate results as JSON")
    .action(async (path: string, o: { overwrite?: boolean; json?: boolean }) => {
      const recipe = await loadRecipe(path);
      const ui = renderer();
      const report = await runRecipe(recipe, ui, { overwrite: o.overwrite, command: `memc run ${path}` });
      const gates = await runGates(recipe, ui);
      ui.stop();
      if (o.json) process.stdout.write(JSON.stringify({ report, gates }, null, 2) + "\n");
      else {
        process.stdout.write(`wrote ${report.output.dir} (${(report.output.bytes / 1e6).toFixed(2)} MB)\n`);
        for (const g of gates) process.stdout.write(`${g.passed ? "pass" : "FAIL"} ${g.file}: ppl ${g.before.toFixed(3)} → ${g.after.toFixed(3)} (${(100 * g.increase).toFixed(2)}%)\n  ${g.fingerprint}\n`);
      }
      checkGates(gates);
    });
}
