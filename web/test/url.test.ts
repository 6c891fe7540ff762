import { describe, expect, it } from 'vitest';
import { decodeIndices, encodeIndices, readView, writeView } from '../src/url/url';

describe('indices in the address', () => {
  it('round-trips random sets, with runs and gaps, and writes runs compactly', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 50; trial++) {
      const set = new Set<number>();
      const n = Math.floor(random() * 400);
      for (let k = 0; k < n; k++) {
        const start = Math.floor(random() * 100_000);
        const run = random() < 0.3 ? Math.floor(random() * 40) : 0;
        for (let i = 0; i <= run; i++) set.add(start + i);
      }
      const sorted = [...set].sort((a, b) => a - b);
      expect(decodeIndices(encodeIndices(set))).toEqual(sorted);
    }
    expect(encodeIndices(Array.from({ length: 1000 }, (_, i) => i))).toBe('0+rr');
    expect(encodeIndices([11, 10, 9, 5, 5])).toBe('5.4+2');
    expect(decodeIndices('')).toEqual([]);
  });
  it('refuses text it did not write', () => {
    expect(() => decodeIndices('5..3')).toThrow();
    expect(() => decodeIndices('A')).toThrow();
  });
});

describe('the view in the address', () => {
  it('round-trips every part', () => {
    const view = {
      run: 'epoch-5', tab: 'selection', color: 'label', scale: 'log', size: 'loss',
      filters: [
        { kind: 'categories' as const, field: 'prediction', allowed: new Set([1, 3]) },
        { kind: 'range' as const, field: 'loss', min: 0.5, max: null },
        { kind: 'indices' as const, name: 'selection', indices: new Set([4, 5, 6, 90]) },
      ],
      hidden: [2, 7], selection: [3, 4, 5, 1000], sample: 42, gallery: 'Sandal → Sneaker',
      camera: { x: 0.12345, y: -0.5, distance: 0.25 },
    };
    const back = readView(writeView(view));
    expect(back.run).toBe('epoch-5');
    expect(back.tab).toBe('selection');
    expect(back.color).toBe('label');
    expect(back.scale).toBe('log');
    expect(back.size).toBe('loss');
    expect(back.filters).toEqual(view.filters);
    expect(back.hidden).toEqual([2, 7]);
    expect(back.selection).toEqual([3, 4, 5, 1000]);
    expect(back.sample).toBe(42);
    expect(back.gallery).toBe('Sandal → Sneaker');
    expect(back.camera).toEqual({ x: 0.1235, y: -0.5, distance: 0.25 });
  });
  it('leaves out what it cannot read, and writes nothing for defaults', () => {
    expect(writeView({ scale: 'auto' })).toBe('');
    const v = readView('filters=%7Bbad&sel=A.B&sample=-3&view=1,2&color=loss');
    expect(v).toEqual({ color: 'loss' });
  });
});

describe('an address that reaches past any run', () => {
  it('is refused, not decoded into billions of indices', () => {
    expect(() => decodeIndices('0+' + (4e8).toString(36))).toThrow();
    expect(() => decodeIndices((2 ** 31 + 5).toString(36))).toThrow();
  });
});
