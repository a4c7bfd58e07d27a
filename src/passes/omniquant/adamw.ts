// AdamW as torch.optim.AdamW implements it (single-tensor path): decoupled weight decay, bias-corrected moments,
// denom = √v/√(1−β2^t) + eps. OmniQuant uses wd 0, lr 1e-2 (LWC) and 5e-3 (LET).
// The step count t is per parameter (torch keeps state['step'] per tensor): a parameter skipped for lack of a gradient
// (a Mixtral expert that no token reached in a window) takes its first update later with the full bias correction.

export class AdamW {
  /** steps taken, per parameter */
  private readonly t: number[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(readonly params: Float32Array[], readonly lr: number, readonly wd = 0, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
    this.t = params.map(() => 0);
  }

  /** grads[i] matches params[i] element for element; updates params in place. An undefined grad skips that
   *  parameter (moments untouched), as torch does for a parameter whose .grad is None. */
  step(grads: (Float32Array | undefined)[]): void {
    for (let j = 0; j < this.params.length; j++) {
      const p = this.params[j]!;
      const g = grads[j];
      if (!g) continue;
      const t = ++this.t[j]!;
      const bc1 = 1 - this.beta1 ** t;
      const bc2s = Math.sqrt(1 - this.beta2 ** t);
      const stepSize = this.lr / bc1;
      const m = this.m[j]!;
      const v = this.v[j]!;
      for (let i = 0; i < p.length; i++) {
        if (this.wd !== 0) p[i] = p[i]! * (1 - this.lr * this.wd);
        m[i] = m[i]! + (g[i]! - m[i]!) * (1 - this.beta1);
        v[i] = v[i]! * this.beta2 + (1 - this.beta2) * g[i]! * g[i]!;
        p[i] = p[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2s + this.eps);
      }
    }
  }
}
