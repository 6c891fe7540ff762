import { describe, expect, it } from 'vitest';
import { applyFilters, categoryCounts, maskIndices, selectionCsv } from '../src/filters/filters';
import { decodeFloat32 } from '../src/data/http';

const columns: Record<string, Float32Array> = {
  label: new Float32Array([0, 1, 2, 1, NaN, 0]),
  loss: new Float32Array([0.1, 2.5, NaN, 0.7, 1.0, 3.0]),
};
const column = (f: string) => columns[f];

describe('applyFilters', () => {
  it('shows everything without filters', () => {
    const r = applyFilters(6, [], column);
    expect(r.shown).toBe(6);
  });
  it('keeps allowed categories and drops missing values', () => {
    const r = applyFilters(6, [{ kind: 'categories', field: 'label', allowed: new Set([0, 1]) }], column);
    expect(maskIndices(r.mask)).toEqual([0, 1, 3, 5]);
  });
  it('applies open and closed ranges', () => {
    expect(maskIndices(applyFilters(6, [{ kind: 'range', field: 'loss', min: 1, max: null }], column).mask)).toEqual([1, 4, 5]);
    expect(maskIndices(applyFilters(6, [{ kind: 'range', field: 'loss', min: null, max: 0.7 }], column).mask)).toEqual([0, 3]);
  });
  it('requires every filter to pass (label, range and a selection together)', () => {
    const r = applyFilters(6, [
      { kind: 'categories', field: 'label', allowed: new Set([0, 1]) },
      { kind: 'range', field: 'loss', min: 0.5, max: null },
      { kind: 'indices', name: 'selection', indices: new Set([1, 3, 4]) },
    ], column);
    expect(maskIndices(r.mask)).toEqual([1, 3]);
    expect(r.shown).toBe(2);
  });
});

describe('selectionCsv', () => {
  it('writes index, id and the extra columns, quoting where needed', () => {
    const csv = selectionCsv([2, 0], ['a', 'b,c', 'd"e'], [{ name: 'label', value: (i) => (i === 0 ? 'T-shirt/top' : 'Coat') }]);
    expect(csv).toBe('index,id,label\n2,"d""e",Coat\n0,a,T-shirt/top\n');
  });
});

describe('decodeFloat32', () => {
  it('reads little-endian float32 bytes with their shape', () => {
    const bytes = new Float32Array([1.5, -2, 3, 4, 5, 6]).buffer;
    const d = decodeFloat32(bytes, '3,2');
    expect([d.rows, d.columns]).toEqual([3, 2]);
    expect([...d.values]).toEqual([1.5, -2, 3, 4, 5, 6]);
  });
  it('refuses a shape that does not match the bytes', () => {
    expect(() => decodeFloat32(new Float32Array(5).buffer, '3,2')).toThrow(/shape 3×2/);
  });
});

describe('categoryCounts', () => {
  it('counts each category among the samples the mask shows, missing values left out', () => {
    const values = new Float32Array([0, 1, 2, 1, NaN, 0]);
    expect(categoryCounts(values, 3, null)).toEqual([2, 2, 1]);
    expect(categoryCounts(values, 3, new Uint8Array([1, 0, 1, 1, 1, 0]))).toEqual([1, 1, 1]);
  });
});
