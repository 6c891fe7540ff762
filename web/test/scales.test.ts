import { describe, expect, it } from 'vitest';
import { categoricalColors, chooseScale, colouring, CONTINUOUS_STEPS, encode, MISSING_COLOUR, normalizeMap, ramp, scaleKind, type Field } from '../src/map/scales';

const numeric = (min: number | null, max: number | null): Field => ({ name: 'v', kind: 'numeric', min, max, categories: null });

describe('ramp', () => {
  it('runs from the first anchor to the last, as hex colours', () => {
    const r = ramp(7);
    expect(r).toHaveLength(7);
    expect(r[0]).toBe('#440154');
    expect(r[6]).toBe('#fde725');
    r.forEach((c) => expect(c).toMatch(/^#[0-9a-f]{6}$/));
  });
  it('gets lighter from low to high', () => {
    const lum = (c: string) => [1, 3, 5].reduce((s, i, k) => s + [0.2126, 0.7152, 0.0722][k] * parseInt(c.slice(i, i + 2), 16), 0);
    const r = ramp(32).map(lum);
    for (let i = 1; i < r.length; i++) expect(r[i]).toBeGreaterThanOrEqual(r[i - 1] - 1e-9);
  });
});

describe('encode', () => {
  it('scales numbers into [0, 1] by the field range, NaN to 0 and counted', () => {
    const e = encode(new Float32Array([2, 4, NaN, 6, 10]), numeric(2, 10));
    expect([...e.data]).toEqual([0, 0.25, 0, 0.5, 1]);
    expect(e.missing).toBe(1);
  });
  it('finds the range itself when the field has none, and survives a constant column', () => {
    expect([...encode(new Float32Array([5, 7, 9]), numeric(null, null)).data]).toEqual([0, 0.5, 1]);
    expect([...encode(new Float32Array([3, 3, 3]), numeric(null, null)).data]).toEqual([0, 0, 0]);
  });
  it('keeps category codes and sends missing values to an extra category', () => {
    const f: Field = { name: 'c', kind: 'categorical', min: null, max: null, categories: ['a', 'b', 'c'] };
    const e = encode(new Float32Array([2, NaN, 0]), f);
    expect([...e.data]).toEqual([2, 3, 0]);
    expect(e.missing).toBe(1);
  });
});

describe('categoricalColors', () => {
  it('gives distinct colours up to the palette size, then repeats in order', () => {
    const c = categoricalColors(25);
    expect(new Set(c.slice(0, 20)).size).toBe(20);
    expect(c[20]).toBe(c[0]);
  });
});

describe('normalizeMap', () => {
  it('fits the map into [-1, 1] keeping its aspect ratio', () => {
    const { x, y } = normalizeMap(new Float32Array([0, 0, 10, 5, 4, 1]), 2);
    const maxAbs = Math.max(...[...x, ...y].map(Math.abs));
    expect(maxAbs).toBeLessThanOrEqual(1);
    expect(maxAbs).toBeGreaterThan(0.9);
    // Distances keep their ratio: |p1 - p0| along x is twice along y.
    expect((x[1] - x[0]) / (y[1] - y[0])).toBeCloseTo(2, 5);
  });
  it('reads only the first two of three dimensions', () => {
    const { x, y } = normalizeMap(new Float32Array([0, 0, 100, 2, 2, -100]), 3);
    expect(x).toHaveLength(2);
    expect(y[1] - y[0]).toBeCloseTo(x[1] - x[0], 5);
  });
});

describe('colour scales for heavy-tailed fields', () => {
  // A loss-like field: most samples near 0, a few very large (seeded, reproducible).
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const loss = Float32Array.from({ length: 2000 }, () => (-Math.log(1 - random() * 0.999)) ** 3);
  const field: Field = { name: 'loss', kind: 'numeric', min: null, max: null, categories: null };
  // Share of the samples in the most crowded eighth of the ramp.
  const crowded = (data: Float32Array) => {
    const bins = new Array(8).fill(0);
    data.forEach((v) => bins[Math.min(7, Math.floor(v * 8))]++);
    return Math.max(...bins) / data.length;
  };

  it('a linear scale paints most of a heavy-tailed field alike, and auto picks the rank scale for it', () => {
    expect(crowded(encode(loss, field, 'linear').data)).toBeGreaterThan(0.9);
    expect(chooseScale(loss, field)).toBe('rank');
    expect(chooseScale(Float32Array.from({ length: 100 }, (_, i) => i), field)).toBe('linear');
  });
  it('the rank scale spreads the samples evenly over the ramp and gives the quartiles as ticks', () => {
    const e = encode(loss, field, 'rank');
    expect(crowded(e.data)).toBeLessThan(0.14);
    const sorted = Float32Array.from(loss).sort();
    expect(e.ticks.map((t) => t.position)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(e.ticks[0].value).toBe(sorted[0]);
    expect(e.ticks[4].value).toBe(sorted[sorted.length - 1]);
    expect(e.ticks[2].value).toBeCloseTo(sorted[Math.round(0.5 * (sorted.length - 1))]);
  });
  it('ties share a rank and missing values are counted', () => {
    const e = encode(new Float32Array([1, 1, 2, NaN, 3]), field, 'rank');
    expect(e.data[0]).toBe(e.data[1]);
    expect(e.data[0]).toBeCloseTo(0.5 / 3);
    expect(e.data[4]).toBe(1);
    expect(e.missing).toBe(1);
  });
});

describe('scales by the kind of field', () => {
  const count = (discrete = false): Field => ({ name: 'n', kind: 'numeric', min: null, max: null, categories: null, discrete });
  it('steps small integer counts, keeps real values and wide counts on the ramp, categories by category', () => {
    expect(scaleKind(new Float32Array([0, 1, 2, 2, NaN]), count())).toBe('discrete');
    expect(scaleKind(new Float32Array([0, 0.5, 2]), count())).toBe('continuous');
    expect(scaleKind(Float32Array.from({ length: 30 }, (_, i) => i), count())).toBe('continuous');
    // A constant count is one step; a constant that is not known to count stays on the ramp.
    expect(scaleKind(new Float32Array([0, 0, 0]), count(true))).toBe('discrete');
    expect(scaleKind(new Float32Array([0, 0, 0]), count(false))).toBe('continuous');
    expect(scaleKind(new Float32Array([1, 0]), { name: 'c', kind: 'categorical', min: null, max: null, categories: ['a', 'b'] })).toBe('categorical');
  });
  it('gives each step its own colour and missing values the grey after them, never the lowest colour', () => {
    const c = colouring(new Float32Array([1, 3, NaN, 2, 1]), count(), 'linear');
    expect(c.kind).toBe('discrete');
    expect(c.steps).toEqual([1, 2, 3]);
    expect([...c.codes]).toEqual([0, 2, 3, 1, 0]);
    expect(c.palette).toHaveLength(4);
    expect(c.palette[3]).toBe(MISSING_COLOUR);
    expect(new Set(c.palette).size).toBe(4);
    expect(c.missing).toBe(1);
  });
  it('puts continuous values on the ramp\'s steps by their scale and missing ones on the grey', () => {
    const values = new Float32Array([0, 10, NaN, 5, 2.5]);
    const c = colouring(values, count(), 'linear');
    expect(c.kind).toBe('continuous');
    expect([...c.codes]).toEqual([0, CONTINUOUS_STEPS - 1, CONTINUOUS_STEPS, 32, 16]);
    expect(c.palette[CONTINUOUS_STEPS]).toBe(MISSING_COLOUR);
    expect(c.palette[0]).not.toBe(MISSING_COLOUR);
  });
  it('a log scale spreads values over orders of magnitude, and its ticks are values of the field', () => {
    const values = new Float32Array([1, 10, 100, 1000]);
    const e = encode(values, count(), 'log');
    expect([...e.data].map((v) => Number(v.toFixed(6)))).toEqual([0, Number((1 / 3).toFixed(6)), Number((2 / 3).toFixed(6)), 1]);
    expect(e.ticks[0].value).toBeCloseTo(1);
    expect(e.ticks[4].value).toBeCloseTo(1000, 3);
    // Zeros and negatives still have a place (log of 1 + v − min).
    const shifted = encode(new Float32Array([-1, 0, 9]), count(), 'log');
    expect(shifted.data[0]).toBe(0);
    expect(shifted.data[2]).toBe(1);
    expect(shifted.data[1]).toBeGreaterThan(0);
  });
});
