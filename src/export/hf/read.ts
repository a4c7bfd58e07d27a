// Reads a GPTQ or compressed-tensors packed checkpoint back as fp32 weights: `<m>.weight` names appear as
// if the checkpoint were dense, dequantized exactly as the format defines (ŵ = (q − z)·s in fp32).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WeightStore } from "../../model/weights.js";
import { toF32 } from "../../runtime/convert.js";
import { InputError } from "../../util/errors.js";
import { parsePackedConfig, type PackedKind } from "./config.js";
import { unpackCt } from "./ct.js";
import { unpackGptq } from "./gptq.js";
import { dequantShifted } from "./qlinear.js";
import { dequantizeFp8Channel } from "./fp8.js";

const i32 = (b: Buffer) => new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export class PackedWeights {
  private constructor(readonly dir: string, readonly kind: PackedKind, readonly store: WeightStore, private readonly packed: Map<string, string>) {}

  /** Opens `dir`; throws when config.json has no supported quantization_config. */
  static async open(dir: string): Promise<PackedWeights> {
    const cfgPath = join(dir, "config.json");
    const raw = JSON.parse(await readFile(cfgPath, "utf8")) as Record<string, unknown>;
    const kind = parsePackedConfig(raw, cfgPath);
    if (!kind) throw new InputError(`${cfgPath}: no quantization_config (not a packed checkpoint)`);
    const store = await WeightStore.open(dir);
    const marker = kind.kind === "gptq" ? ".qweight" : kind.kind === "ct" ? ".weight_packed" : ".weight_scale";
    const packed = new Map<string, string>();
    for (const n of store.names()) if (n.endsWith(marker)) packed.set(n.slice(0, -marker.length) + ".weight", n.slice(0, -marker.length));
    return new PackedWeights(dir, kind, store, packed);
  }

  /** Dense-looking names: packed modules as `<m>.weight`, packing side tensors hidden. */
  names(): string[] {
    const side = /\.(qweight|qzeros|scales|g_idx|weight_packed|weight_scale|weight_shape|weight_zero_point|weight_g_idx)$/;
    return [...new Set([...this.store.names().filter((n) => !side.test(n)), ...this.packed.keys()])];
  }

  has(name: string): boolean {
    return this.packed.has(name) || this.store.has(name);
  }

  isPacked(name: string): boolean {
    return this.packed.has(name);
  }

  /** fp32 weight [N, K] (dequantized when packed); `shape` is checked when given. */
  async f32(name: string, shape?: number[]): Promise<Float32Array> {
    const mod = this.packed.get(name);
    if (!mod) return this.store.f32(name, shape);
    const w = await this.dequant(mod);
    if (shape && shape.reduce((a, b) => a * b, 1) !== w.length) throw new InputError(`${this.dir}: ${name}: expected shape ${JSON.stringify(shape)}, found ${w.length} values`);
    return w;
  }

  private async dequant(mod: string): Promise<Float32Array> {
    const { bits, sym } = this.kind.scheme;
    const where = `${this.dir}: ${mod}`;
    if (this.kind.kind === "ct-fp8") {
      const info = this.store.info(`${mod}.weight`);
      if (info.dtype !== "F8_E4M3") throw new InputError(`${where}.weight: expected F8_E4M3, found ${info.dtype}`);
      const [N, K] = info.shape as [number, number];
      const sInfo = this.store.info(`${mod}.weight_scale`);
      const scale = toF32(await this.store.bytes(`${mod}.weight_scale`), sInfo.dtype, where);
      if (scale.length !== N) throw new InputError(`${where}.weight_scale: expected [${N}, 1] (channel), found ${JSON.stringify(sInfo.shape)}`);
      return dequantizeFp8Channel(new Uint8Array(await this.store.bytes(`${mod}.weight`)), scale, N, K);
    }
    if (this.kind.kind === "gptq") {
      const scalesInfo = this.store.info(`${mod}.scales`);
      const [, N] = scalesInfo.shape as [number, number];
      const K = this.store.info(`${mod}.g_idx`).shape[0]!;
      const t = {
        qweight: i32(await this.store.bytes(`${mod}.qweight`)),
        qzeros: i32(await this.store.bytes(`${mod}.qzeros`)),
        scales: toF32(await this.store.bytes(`${mod}.scales`), scalesInfo.dtype, where),
        gIdx: i32(await this.store.bytes(`${mod}.g_idx`)),
      };
      const u = unpackGptq(t, N, K, bits, this.kind.format, where);
      return dequantShifted(u.q, u.zero, u.scale, N, K, u.groupSize);
    }
    const shapeB = await this.store.bytes(`${mod}.weight_shape`);
    const dv = new DataView(shapeB.buffer, shapeB.byteOffset, shapeB.byteLength);
    const shapeInfo = this.store.info(`${mod}.weight_shape`);
    const rd = (i: number) => (shapeInfo.dtype === "I64" ? Number(dv.getBigInt64(8 * i, true)) : dv.getInt32(4 * i, true));
    const [N, K] = [rd(0), rd(1)];
    const scaleInfo = this.store.info(`${mod}.weight_scale`);
    const zpName = `${mod}.weight_zero_point`;
    const t = {
      weightPacked: i32(await this.store.bytes(`${mod}.weight_packed`)),
      weightScale: toF32(await this.store.bytes(`${mod}.weight_scale`), scaleInfo.dtype, where),
      weightShape: [N, K] as [number, number],
      ...(this.store.has(zpName) ? { weightZeroPoint: i32(await this.store.bytes(zpName)) } : {}),
    };
    const u = unpackCt(t, bits, sym, where);
    return dequantShifted(u.q, u.zero, u.scale, N, K, u.groupSize);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
