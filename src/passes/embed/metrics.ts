// Reconstruction error of a compressed matrix against the original: relative squared error and row cosines.

export interface ReconError {
  /** ‖X̂ − X‖²_F / ‖X‖²_F */
  relativeMse: number;
  /** mean and minimum over rows of cos(x, x̂) (rows of zeros skipped) */
  meanCosine: number;
  minCosine: number;
  maxAbsError: number;
}

/** x, xh: [rows, d] fp32 */
export function reconstructionError(x: Float32Array, xh: Float32Array, rows: number, d: number): ReconError {
  let num = 0, den = 0, cosSum = 0, cosMin = Infinity, maxAbs = 0, counted = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0, nx = 0, nh = 0;
    for (let j = 0; j < d; j++) {
      const a = x[r * d + j]!, b = xh[r * d + j]!;
      const e = b - a;
      num += e * e;
      den += a * a;
      dot += a * b;
      nx += a * a;
      nh += b * b;
      if (Math.abs(e) > maxAbs) maxAbs = Math.abs(e);
    }
    if (nx > 0 && nh > 0) {
      const c = dot / Math.sqrt(nx * nh);
      cosSum += c;
      cosMin = Math.min(cosMin, c);
      counted++;
    }
  }
  return { relativeMse: den > 0 ? num / den : 0, meanCosine: counted ? cosSum / counted : 1, minCosine: counted ? cosMin : 1, maxAbsError: maxAbs };
}
