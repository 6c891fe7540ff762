import { describe, expect, it } from 'vitest';
import type { Field } from '../src/data/types';
import { search, type SearchContext } from '../src/search/search';

const fields: Field[] = [
  { name: 'prediction', kind: 'categorical', min: null, max: null, categories: ['Shirt', 'Sandal', 'Bag'] },
  { name: 'label', kind: 'categorical', min: null, max: null, categories: ['Shirt', 'Sandal', 'Bag'] },
  { name: 'loss', kind: 'numeric', min: 0, max: 4, categories: null },
];
const columns: Record<string, Float32Array> = {
  label: new Float32Array([0, 1, 2, 1, NaN, 0]),
  prediction: new Float32Array([0, 0, 2, 1, 1, 2]),
  loss: new Float32Array([0.1, 2.5, 0.2, NaN, 3, 1]),
};
const ids = ['img-000', 'img-001', 'photo-7', 'img-003', 'x', '42'];
const ctx: SearchContext = { count: 6, fields, column: async (n) => columns[n], ids: async () => ids };
const found = async (q: string) => {
  const r = await search(q, ctx);
  if ('error' in r) throw new Error(r.error);
  return r.indices;
};

describe('search', () => {
  it('finds an index, an id, and ids containing text', async () => {
    expect(await found('#3')).toEqual([3]);
    expect(await found('photo-7')).toEqual([2]);
    expect(await found('id:img-00')).toEqual([0, 1, 3]);
    // A number is an id when a sample has it.
    expect(await found('42')).toEqual([5]);
  });
  it('finds by category (label first for plain text) and by comparisons, never matching missing values', async () => {
    expect(await found('sandal')).toEqual([1, 3]);
    expect(await found('prediction=Sandal')).toEqual([3, 4]);
    expect(await found('label != Shirt')).toEqual([1, 2, 3]);
    expect(await found('loss>2')).toEqual([1, 4]);
    expect(await found('loss<=0.2')).toEqual([0, 2]);
    expect(await found('LOSS = 1')).toEqual([5]);
  });
  it('says what went wrong', async () => {
    expect(await search('#6', ctx)).toEqual({ error: expect.stringContaining('out of range') });
    expect(await search('loss>abc', ctx)).toEqual({ error: expect.stringContaining('is a number') });
    expect(await search('label>Bag', ctx)).toEqual({ error: expect.stringContaining('is a category') });
    expect(await search('nothing-here', ctx)).toEqual({ error: expect.stringContaining('nothing matches') });
  });
});
