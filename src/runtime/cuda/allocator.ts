// Device memory: a caching allocator over cuMemAlloc/cuMemFree (cuMemFree synchronises the device, so freed blocks
// are kept in size buckets and reused in stream order), plus host↔device copies. Tracks bytes in use and the peak.

import type { DevicePtr, Driver } from "./ffi/driver.js";

/** Rounds up to a bucket: 256-byte multiples below 1 MiB, else 1/8 of the next power of two. */
export function bucketSize(bytes: number): number {
  if (bytes <= 0) return 256;
  if (bytes < 1 << 20) return Math.ceil(bytes / 256) * 256;
  const step = 2 ** Math.floor(Math.log2(bytes)) / 8;
  return Math.ceil(bytes / step) * step;
}

export class CudaAllocator {
  private readonly pool = new Map<number, DevicePtr[]>();
  private readonly sizes = new Map<DevicePtr, number>();
  private inUse = 0;
  private cached = 0;
  peak = 0;

  constructor(private readonly driver: Driver) {}

  alloc(bytes: number): DevicePtr {
    const size = bucketSize(bytes);
    let p = this.pool.get(size)?.pop();
    if (p !== undefined) this.cached -= size;
    else {
      try {
        p = this.driver.memAlloc(size);
      } catch (e) {
        if (this.cached === 0) throw e;
        this.trim(); // out of memory with blocks cached: give them back and try once more
        p = this.driver.memAlloc(size);
      }
    }
    this.sizes.set(p, size);
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    return p;
  }

  free(p: DevicePtr): void {
    const size = this.sizes.get(p);
    if (size === undefined) throw new Error(`CudaAllocator.free: 0x${p.toString(16)} is not a live allocation (double free?)`);
    this.sizes.delete(p);
    this.inUse -= size;
    this.cached += size;
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, (list = []));
    list.push(p);
  }

  /** Returns every cached block to the driver. */
  trim(): void {
    for (const list of this.pool.values()) for (const p of list) this.driver.memFree(p);
    this.pool.clear();
    this.cached = 0;
  }

  stats(): { inUse: number; cached: number; peak: number; live: number } {
    return { inUse: this.inUse, cached: this.cached, peak: this.peak, live: this.sizes.size };
  }

  resetPeak(): void {
    this.peak = this.inUse;
  }

  copyIn(dst: DevicePtr, src: ArrayBufferView): void {
    if (src.byteLength > 0) this.driver.copyHtoD(dst, src, src.byteLength);
  }

  copyOut(dst: ArrayBufferView, src: DevicePtr): void {
    if (dst.byteLength > 0) this.driver.copyDtoH(dst, src, dst.byteLength);
  }

  /** Frees everything, live allocations included (end of a run). */
  dispose(): void {
    this.trim();
    for (const p of this.sizes.keys()) this.driver.memFree(p);
    this.sizes.clear();
    this.inUse = 0;
  }
}
