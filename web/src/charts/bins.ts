// Histograms of the linked charts: pure functions, tested against naive counts (web/test/charts.test.ts).

/** The range a numeric field's histogram spans: its smallest finite value to its 99th percentile (heavy tails such as
 * the loss would otherwise crowd every sample into the first bin); the last bin then holds everything above. */
export function histogramRange(values: Float32Array): { lo: number; hi: number } | null {
  const finite = Float32Array.from(values.filter(Number.isFinite)).sort();
  if (!finite.length) return null;
  const lo = finite[0], hi = finite[Math.min(finite.length - 1, Math.floor(0.99 * (finite.length - 1)))];
  return { lo, hi: hi > lo ? hi : finite[finite.length - 1] > lo ? finite[finite.length - 1] : lo + 1 };
}

/**
 * Counts per bin of the samples `keep` accepts: `bins` equal bins over [lo, hi], values above hi in the last, below lo
 * in the first; missing values are counted apart.
 */
export function histogram(values: Float32Array, lo: number, hi: number, bins: number, keep: (i: number) => boolean): { counts: number[]; missing: number } {
  const counts = new Array<number>(bins).fill(0);
  let missing = 0;
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    if (!keep(i)) continue;
    const v = values[i];
    if (!Number.isFinite(v)) { missing++; continue; }
    counts[Math.max(0, Math.min(bins - 1, Math.floor((v - lo) / width)))]++;
  }
  return { counts, missing };
}
