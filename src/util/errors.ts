// Typed errors: InputError (bad usage or bad input → exit 2) and MemcError (failure → exit 1).
// Messages name the thing and the value: file, tensor, what was expected, what was found.

export class MemcError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = "MemcError";
  }
}

/** Bad usage or bad input (a file, tensor, option value): exit code 2. */
export class InputError extends MemcError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export function exitCodeOf(e: unknown): number {
  return e instanceof MemcError ? e.exitCode : 1;
}
