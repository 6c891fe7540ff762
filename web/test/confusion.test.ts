import { describe, expect, it } from 'vitest';
import { confusion } from '../src/confusion/counts';

describe('confusion matrix', () => {
  const labels = new Float32Array([0, 0, 1, 1, 2, NaN, 2, 1]);
  const predictions = new Float32Array([0, 1, 1, 1, 0, 2, NaN, 2]);
  it('counts (label, prediction) pairs, leaving out samples without either', () => {
    expect(confusion(labels, predictions, 3, null, null)).toEqual([[1, 1, 0], [0, 2, 1], [1, 0, 0]]);
  });
  it('counts only the shown samples, or only the selection', () => {
    const mask = Uint8Array.from([1, 0, 1, 1, 0, 1, 1, 1]);
    expect(confusion(labels, predictions, 3, null, mask)).toEqual([[1, 0, 0], [0, 2, 1], [0, 0, 0]]);
    expect(confusion(labels, predictions, 3, [1, 4], mask)).toEqual([[0, 1, 0], [0, 0, 0], [1, 0, 0]]);
  });
});
