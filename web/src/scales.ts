// Colour and size encodings of the population map: categorical palettes, a continuous ramp, and the normalisation of
// a field's values into what regl-scatterplot reads (category indices, or values in [0, 1]).

/** Twenty distinguishable colours for categories; more categories reuse them in order. */
export const CATEGORICAL: readonly string[] = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#1f5f99', '#c4611a', '#a8323a', '#3f8f89', '#2f7a2a', '#b89a1c', '#7d4f74', '#d1707c', '#6d4e3c', '#7f7a77',
];

/** Anchors of the continuous ramp, dark blue-violet (low) to yellow (high), perceptually ordered. */
const RAMP_ANCHORS: readonly [number, number, number][] = [
  [68, 1, 84], [65, 68, 135], [42, 120, 142], [34, 168, 132], [122, 209, 81], [253, 231, 37],
];

export type Field = {
  name: string;
  kind: 'numeric' | 'categorical';
  min: number | null;
  max: number | null;
  categories: string[] | null;
};

/** `steps` colours evenly spaced along the continuous ramp, as hex strings. */
export function ramp(steps: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < steps; i++) {
    const t = steps === 1 ? 0 : i / (steps - 1);
    const pos = t * (RAMP_ANCHORS.length - 1);
    const k = Math.min(Math.floor(pos), RAMP_ANCHORS.length - 2);
    const f = pos - k;
    const [a, b] = [RAMP_ANCHORS[k], RAMP_ANCHORS[k + 1]];
    const c = a.map((v, j) => Math.round(v + (b[j] - v) * f));
    out.push('#' + c.map((v) => v.toString(16).padStart(2, '0')).join(''));
  }
  return out;
}

/** The palette for a categorical field: one colour per category, cycling through CATEGORICAL. */
export function categoricalColors(count: number): string[] {
  return Array.from({ length: count }, (_, i) => CATEGORICAL[i % CATEGORICAL.length]);
}

/**
 * Values of a field as regl-scatterplot wants them: category indices (NaN → an extra "missing" category at the end)
 * for categorical fields; values scaled to [0, 1] by the field's range for numeric ones (NaN → 0). Returns the range
 * used, so a legend can show it.
 */
export function encode(values: Float32Array, field: Field): { data: Float32Array; min: number; max: number; missing: number } {
  const data = new Float32Array(values.length);
  let missing = 0;
  if (field.kind === 'categorical') {
    const extra = field.categories?.length ?? 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isNaN(v)) { data[i] = extra; missing++; } else data[i] = v;
    }
    return { data, min: 0, max: extra, missing };
  }
  let min = field.min ?? Infinity, max = field.max ?? -Infinity;
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    min = Infinity; max = -Infinity;
    for (const v of values) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
    if (!Number.isFinite(min)) { min = 0; max = 1; }
  }
  const span = max > min ? max - min : 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) { data[i] = 0; missing++; } else data[i] = Math.min(1, Math.max(0, (v - min) / span));
  }
  return { data, min, max, missing };
}

/** Map coordinates scaled into [-1, 1] on both axes with the same factor (so distances keep their proportions). */
export function normalizeMap(map: Float32Array, dims: number): { x: Float32Array; y: Float32Array } {
  const n = Math.floor(map.length / dims);
  const x = new Float32Array(n), y = new Float32Array(n);
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = map[i * dims], b = dims > 1 ? map[i * dims + 1] : 0;
    if (a < minX) minX = a; if (a > maxX) maxX = a; if (b < minY) minY = b; if (b > maxY) maxY = b;
  }
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  const half = Math.max(maxX - minX, maxY - minY, 1e-12) / 2 / 0.95;
  for (let i = 0; i < n; i++) {
    x[i] = (map[i * dims] - cx) / half;
    y[i] = ((dims > 1 ? map[i * dims + 1] : 0) - cy) / half;
  }
  return { x, y };
}
