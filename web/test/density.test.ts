import { describe, expect, it } from 'vitest';
import { densityImage, levelOfDetail, newScratch, pointsInPolygon, priorities, prioritySubset, rgbBytes } from '../src/map/density';

let seed = 3;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

describe('density layer', () => {
  const n = 5003;
  const x = Float32Array.from({ length: n }, () => random() * 2 - 1);
  const y = Float32Array.from({ length: n }, () => random() * 2 - 1);
  const codes = Float32Array.from({ length: n }, (_, i) => i % 3);
  const palette = rgbBytes(['#ff0000', '#00ff00', '#0000ff']);
  const view = { ax: 50, bx: 50, ay: -50, by: 50 }; // [-1, 1] onto a 100 × 100 view, y up

  it('puts each shown sample in the cell a naive loop finds, with the mean colour', () => {
    const mask = Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 1));
    const img = densityImage(x, y, mask, codes, palette, 100, 100, view, 3);
    expect(img.width).toBe(34);
    const count = new Map<number, number[]>();
    let inView = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const cx = Math.floor((50 * x[i] + 50) / 3), cy = Math.floor((-50 * y[i] + 50) / 3);
      if (cx < 0 || cy < 0 || cx >= 34 || cy >= 34) continue;
      inView++;
      const k = cy * 34 + cx;
      const c = count.get(k) ?? [0, 0, 0, 0];
      c[0]++; c[1] += palette[codes[i] * 3]; c[2] += palette[codes[i] * 3 + 1]; c[3] += palette[codes[i] * 3 + 2];
      count.set(k, c);
    }
    expect(img.inView).toBe(inView);
    expect(img.maxCount).toBe(Math.max(...[...count.values()].map((c) => c[0])));
    for (let k = 0; k < 34 * 34; k++) {
      const c = count.get(k);
      if (!c) { expect(img.pixels[k * 4 + 3]).toBe(0); continue; }
      for (let j = 0; j < 3; j++) expect(Math.abs(img.pixels[k * 4 + j] - c[j + 1] / c[0])).toBeLessThanOrEqual(0.5);
      expect(img.pixels[k * 4 + 3]).toBeGreaterThanOrEqual(89);
    }
  });
  it('gives the same picture when it reuses the buffers of the frame before', () => {
    const scratch = newScratch(1);
    const moved = { ax: 80, bx: 20, ay: -70, by: 60 };
    densityImage(x, y, null, codes, palette, 100, 100, view, 3, scratch);
    const again = densityImage(x, y, null, codes, palette, 100, 100, moved, 3, scratch);
    const fresh = densityImage(x, y, null, codes, palette, 100, 100, moved, 3);
    expect([...again.pixels]).toEqual([...fresh.pixels]);
    expect(again.maxCount).toBe(fresh.maxCount);
    const coarser = densityImage(x, y, null, codes, palette, 100, 100, moved, 4, scratch);
    expect([...coarser.pixels]).toEqual([...densityImage(x, y, null, codes, palette, 100, 100, moved, 4).pixels]);
  });
  it('draws the fullest cell opaque and a single sample faint', () => {
    const img = densityImage(new Float32Array([0, 0, 0, 0.9]), new Float32Array([0, 0, 0, 0.9]), null, new Float32Array(4), palette, 100, 100, view, 4);
    const alphas = [...img.pixels.filter((_, k) => k % 4 === 3)].filter((a) => a > 0).sort((a, b) => a - b);
    expect(alphas).toEqual([89, 255]);
  });
});

describe('level of detail', () => {
  const n = 20011;
  const x = Float32Array.from({ length: n }, () => random() * 2 - 1);
  const y = Float32Array.from({ length: n }, () => random() * 2 - 1);
  const p = priorities(n);
  const full = { ax: 50, bx: 50, ay: -50, by: 50 };

  it('draws every shown dot on screen within the budget', () => {
    const zoomed = { ax: 500, bx: 50, ay: -500, by: 50 }; // a tenth of the map across
    const lod = levelOfDetail(x, y, null, p, 100, 100, zoomed, 5000, []);
    expect(lod.complete).toBe(true);
    const expected = [];
    for (let i = 0; i < n; i++) { const sx = 500 * x[i] + 50, sy = -500 * y[i] + 50; if (sx >= -8 && sy >= -8 && sx <= 108 && sy <= 108) expected.push(i); }
    expect(lod.indices).toEqual(expected);
  });
  it('samples about the budget over it, keeps the selection, and is stable', () => {
    const lod = levelOfDetail(x, y, null, p, 100, 100, full, 2000, [5, 17]);
    expect(lod.complete).toBe(false);
    expect(lod.indices.length).toBeGreaterThan(1700);
    expect(lod.indices.length).toBeLessThan(2300);
    expect(lod.indices).toContain(5);
    expect(lod.indices).toContain(17);
    expect(levelOfDetail(x, y, null, p, 100, 100, full, 2000, [5, 17]).indices).toEqual(lod.indices);
  });
  it('leaves out samples the mask hides', () => {
    const mask = Uint8Array.from({ length: n }, (_, i) => i % 2);
    const lod = levelOfDetail(x, y, mask, p, 100, 100, full, 1e9, []);
    expect(lod.indices.every((i) => i % 2 === 1)).toBe(true);
    expect(lod.indices.length).toBe(Math.floor(n / 2));
  });
});

describe('the density of a subset', () => {
  it('stands for the whole: the same cells lit where the subset reaches them, counts scaled by its weight', () => {
    const n = 40_000;
    const x = Float32Array.from({ length: n }, () => random() * 0.2 - 0.1);
    const y = Float32Array.from({ length: n }, () => random() * 0.2 - 0.1);
    const codes = new Float32Array(n);
    const palette = rgbBytes(['#808080']);
    const view = { ax: 50, bx: 50, ay: -50, by: 50 };
    const p = priorities(n);
    const subset = prioritySubset(p, 0.25);
    expect(subset.length).toBeGreaterThan(0.22 * n);
    expect(subset.length).toBeLessThan(0.28 * n);
    expect([...subset].every((i) => p[i] < 0.25)).toBe(true);
    const all = densityImage(x, y, null, codes, palette, 100, 100, view, 4);
    const some = densityImage(x, y, null, codes, palette, 100, 100, view, 4, undefined, { indices: subset, weight: 4 });
    expect(Math.abs(some.inView - all.inView) / all.inView).toBeLessThan(0.1);
    expect(Math.abs(some.maxCount - all.maxCount) / all.maxCount).toBeLessThan(0.3);
  });
});

describe('points in a lasso', () => {
  it('takes the shown samples inside the polygon, as a naive crossing count does', () => {
    const n = 3001;
    const x = Float32Array.from({ length: n }, () => random() * 2 - 1);
    const y = Float32Array.from({ length: n }, () => random() * 2 - 1);
    const mask = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1));
    // A concave polygon: an L shape.
    const poly = [[-0.8, -0.8], [0.6, -0.8], [0.6, -0.2], [-0.2, -0.2], [-0.2, 0.7], [-0.8, 0.7]];
    const inL = (px: number, py: number) => px >= -0.8 && px <= 0.6 && py >= -0.8 && py <= 0.7 && !(px > -0.2 && py > -0.2);
    const expected = [];
    for (let i = 0; i < n; i++) if (mask[i] && inL(x[i], y[i])) expected.push(i);
    expect(pointsInPolygon(x, y, mask, poly)).toEqual(expected);
    expect(pointsInPolygon(x, y, null, [[0, 0], [1, 0]])).toEqual([]);
  });
});
