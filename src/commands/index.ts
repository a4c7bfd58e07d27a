// The list of verbs; each file registers one subcommand on the program.

import type { Command } from "commander";
import { register as evalCmd } from "./eval.js";
import { register as quantizeCmd } from "./quantize.js";

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [evalCmd, quantizeCmd];
