// The confusion matrix's counts: a pure function, tested against a hand count (web/test/confusion.test.ts).

/** Counts per (label, prediction) of `indices` (all samples where mask[i] = 1 when null); unlabelled or unpredicted samples are left out. */
export function confusion(labels: Float32Array, predictions: Float32Array, classes: number, indices: readonly number[] | null, mask: Uint8Array | null): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const add = (i: number) => {
    const y = labels[i], p = predictions[i];
    if (Number.isInteger(y) && Number.isInteger(p) && y >= 0 && p >= 0 && y < classes && p < classes) m[y][p]++;
  };
  if (indices) for (const i of indices) add(i);
  else for (let i = 0; i < labels.length; i++) if (!mask || mask[i]) add(i);
  return m;
}
