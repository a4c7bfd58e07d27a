// A loaded kernel and its launch: arguments are packed one Buffer per parameter (cuLaunchKernel's kernelParams).

import type { DevicePtr, Driver, Handle } from "./ffi/driver.js";

export type KernelArg = { p: DevicePtr } | { i: number } | { f: number } | { l: number } | { d: number };
export const ptr = (p: DevicePtr): KernelArg => ({ p });
export const i32 = (i: number): KernelArg => ({ i });
export const f32 = (f: number): KernelArg => ({ f });
/** a `long long` kernel parameter */
export const i64 = (l: number): KernelArg => ({ l });
/** a `double` kernel parameter */
export const f64 = (d: number): KernelArg => ({ d });

export type Dim3 = [number, number, number];

function pack(a: KernelArg): Buffer {
  if ("p" in a || "l" in a || "d" in a) {
    const b = Buffer.alloc(8);
    if ("p" in a) b.writeBigUInt64LE(BigInt(a.p));
    else if ("d" in a) b.writeDoubleLE(a.d);
    else b.writeBigInt64LE(BigInt(a.l));
    return b;
  }
  const b = Buffer.alloc(4);
  if ("i" in a) b.writeInt32LE(a.i);
  else b.writeFloatLE(a.f);
  return b;
}

export class CudaProgram {
  constructor(
    private readonly driver: Driver,
    readonly name: string,
    readonly fn: Handle,
  ) {}

  /** Queues the kernel on the default stream (asynchronous to the host). */
  launch(grid: Dim3, block: Dim3, args: KernelArg[], smem = 0): void {
    if (grid.some((g) => g < 1) || block.some((b) => b < 1)) throw new Error(`${this.name}: bad launch grid ${grid.join("x")} block ${block.join("x")}`);
    this.driver.launch(this.fn, grid, block, smem, args.map(pack));
  }
}
