import { describe, expect, it } from 'vitest';
import { histogram, histogramRange } from '../src/charts/bins';

describe('histograms of the linked charts', () => {
  it('count each kept sample in the bin a naive loop finds, the tails in the end bins, missing apart', () => {
    let seed = 9;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const values = Float32Array.from({ length: 5003 }, (_, i) => (i % 97 === 0 ? NaN : random() * 10 - 2));
    const keep = (i: number) => i % 3 !== 0;
    const { counts, missing } = histogram(values, 0, 6, 12, keep);
    const naive = new Array(12).fill(0);
    let nan = 0;
    values.forEach((v, i) => {
      if (!keep(i)) return;
      if (Number.isNaN(v)) { nan++; return; }
      naive[v < 0 ? 0 : v >= 6 ? 11 : Math.floor(v / 0.5)]++;
    });
    expect(counts).toEqual(naive);
    expect(missing).toBe(nan);
  });
  it('spans the smallest value to the 99th percentile, so a heavy tail does not crowd the first bin', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i < 995 ? i / 1000 : 1000));
    const r = histogramRange(values)!;
    expect(r.lo).toBe(0);
    expect(r.hi).toBeLessThan(1);
    expect(histogramRange(new Float32Array([NaN]))).toBeNull();
    expect(histogramRange(new Float32Array([3, 3, 3]))).toEqual({ lo: 3, hi: 4 });
  });
});
