// The list of verbs; each file registers one subcommand on the program.

import type { Command } from "commander";
import { register as doctorCmd } from "./doctor.js";
import { register as evalCmd } from "./eval.js";
import { register as quantizeCmd } from "./quantize.js";
import { register as inspectCmd } from "./inspect.js";
import { register as runCmd } from "./run.js";
import { register as embedCmd } from "./embed.js";
import { register as exportCmd } from "./export.js";

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [inspectCmd, evalCmd, quantizeCmd, runCmd, doctorCmd, embedCmd, exportCmd];
