// The density layer of large maps: every shown sample binned into screen cells, each cell drawn in the mean colour of its
// samples with an opacity that grows with the log of its count; and the level of detail: which dots to draw individually.
// Pure functions over typed arrays (a million samples bin in a few milliseconds).

/** Where a map point lands on screen: screen = a · data + b on each axis, in CSS pixels. */
export type Affine = { ax: number; bx: number; ay: number; by: number };

/** `#rrggbb` colours as RGB bytes. */
export function rgbBytes(colours: string[]): Uint8Array {
  const out = new Uint8Array(colours.length * 3);
  colours.forEach((c, k) => { for (let j = 0; j < 3; j++) out[k * 3 + j] = parseInt(c.slice(1 + 2 * j, 3 + 2 * j), 16); });
  return out;
}

export type DensityImage = {
  /** Cells across and down, and their RGBA pixels (row by row, top first). */
  width: number; height: number; pixels: Uint8ClampedArray<ArrayBuffer>;
  /** The most samples in one cell, and the shown samples that land on screen. */
  maxCount: number; inView: number;
};

/**
 * Bins the shown samples (mask[i] = 1; all when null) into cells of `cell` CSS pixels over a `width` × `height` view.
 * A cell's colour is the mean of its samples' palette colours; its opacity runs from 35 % (one sample) to 100 % (the
 * fullest cell) on a log scale, so sparse regions stay visible beside dense ones.
 */
export function densityImage(x: Float32Array, y: Float32Array, mask: Uint8Array | null, codes: Float32Array, palette: Uint8Array,
  width: number, height: number, view: Affine, cell: number, scratch?: DensityScratch, subset?: { indices: Uint32Array; weight: number }): DensityImage {
  const w = Math.max(1, Math.ceil(width / cell)), h = Math.max(1, Math.ceil(height / cell));
  // Buffers of the frame before when they fit (a moving map bins every frame): cleared, not allocated again.
  if (scratch && scratch.count.length !== w * h) Object.assign(scratch, newScratch(w * h));
  const { count, r, g, b } = scratch ?? newScratch(w * h);
  if (scratch) { count.fill(0); r.fill(0); g.fill(0); b.fill(0); }
  const ax = view.ax / cell, bx = view.bx / cell, ay = view.ay / cell, by = view.by / cell;
  let inView = 0;
  const bin = (i: number) => {
    const cx = Math.floor(ax * x[i] + bx), cy = Math.floor(ay * y[i] + by);
    if (cx < 0 || cy < 0 || cx >= w || cy >= h) return;
    const k = cy * w + cx, p = codes[i] * 3;
    count[k]++; r[k] += palette[p]; g[k] += palette[p + 1]; b[k] += palette[p + 2];
    inView++;
  };
  if (subset) { for (const i of subset.indices) if (!mask || mask[i]) bin(i); }
  else for (let i = 0; i < x.length; i++) if (!mask || mask[i]) bin(i);
  let maxCount = 0;
  for (let k = 0; k < count.length; k++) if (count[k] > maxCount) maxCount = count[k];
  // A subset stands for the whole: its counts are scaled by its weight (1 / the share it keeps).
  const weight = subset?.weight ?? 1;
  const pixels = scratch ? scratch.pixels : new Uint8ClampedArray(w * h * 4);
  if (scratch) pixels.fill(0);
  const top = Math.log1p(maxCount * weight) || 1;
  for (let k = 0; k < count.length; k++) {
    const n = count[k];
    if (!n) continue;
    pixels[k * 4] = r[k] / n; pixels[k * 4 + 1] = g[k] / n; pixels[k * 4 + 2] = b[k] / n;
    pixels[k * 4 + 3] = 255 * (0.35 + 0.65 * Math.max(0, Math.log1p(n * weight) - Math.log1p(1)) / Math.max(1e-9, top - Math.log1p(1)));
  }
  return { width: w, height: h, pixels, maxCount: Math.round(maxCount * weight), inView: Math.round(inView * weight) };
}

/** Buffers densityImage can reuse from frame to frame. */
export type DensityScratch = { count: Uint32Array; r: Uint32Array; g: Uint32Array; b: Uint32Array; pixels: Uint8ClampedArray<ArrayBuffer> };

export const newScratch = (cells: number): DensityScratch => ({
  count: new Uint32Array(cells), r: new Uint32Array(cells), g: new Uint32Array(cells), b: new Uint32Array(cells), pixels: new Uint8ClampedArray(cells * 4),
});

/** The samples whose priority is below `share`: a fixed, even subset (the density layer bins it while the map moves). */
export function prioritySubset(priority: Float32Array, share: number): Uint32Array {
  let n = 0;
  for (let i = 0; i < priority.length; i++) if (priority[i] < share) n++;
  const out = new Uint32Array(n);
  for (let i = 0, k = 0; i < priority.length; i++) if (priority[i] < share) out[k++] = i;
  return out;
}

/** A fixed pseudo-random rank per sample in [0, 1): the level of detail keeps the lowest, so dots do not flicker between views. */
export function priorities(count: number): Float32Array {
  const p = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
    p[i] = (h >>> 0) / 4294967296;
  }
  return p;
}

/**
 * The dots to draw individually: the shown samples on screen when there are at most `budget` of them, else an even
 * sample of about `budget` of them (by priority); always with `keep` (the selection) added, so it stays drawn.
 */
export function levelOfDetail(x: Float32Array, y: Float32Array, mask: Uint8Array | null, priority: Float32Array,
  width: number, height: number, view: Affine, budget: number, keep: readonly number[]): { indices: number[]; complete: boolean } {
  const margin = 8;
  const onScreen = (i: number) => {
    const sx = view.ax * x[i] + view.bx, sy = view.ay * y[i] + view.by;
    return sx >= -margin && sy >= -margin && sx <= width + margin && sy <= height + margin;
  };
  let inView = 0;
  for (let i = 0; i < x.length; i++) if ((!mask || mask[i]) && onScreen(i)) inView++;
  const share = inView <= budget ? 1 : budget / inView;
  const chosen = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) if ((!mask || mask[i]) && priority[i] < share && onScreen(i)) chosen[i] = 1;
  for (const i of keep) if (i >= 0 && i < x.length) chosen[i] = 1;
  const indices: number[] = [];
  for (let i = 0; i < x.length; i++) if (chosen[i]) indices.push(i);
  return { indices, complete: share === 1 };
}

/**
 * The shown samples (mask[i] = 1) inside a polygon of map points (a lasso), by the even-odd rule: a dense map draws only
 * some of its dots, and a lasso must take every sample inside it.
 */
export function pointsInPolygon(x: Float32Array, y: Float32Array, mask: Uint8Array | null, polygon: number[][]): number[] {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const [px, py] of polygon) { minX = Math.min(minX, px); maxX = Math.max(maxX, px); minY = Math.min(minY, py); maxY = Math.max(maxY, py); }
  const out: number[] = [];
  const n = polygon.length;
  for (let i = 0; i < x.length; i++) {
    if (mask && !mask[i]) continue;
    const px = x[i], py = y[i];
    if (px < minX || px > maxX || py < minY || py > maxY) continue;
    let inside = false;
    for (let a = 0, b = n - 1; a < n; b = a++) {
      const [ax, ay] = polygon[a], [bx, by] = polygon[b];
      if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}
