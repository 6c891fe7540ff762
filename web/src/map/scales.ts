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

import type { Field } from '../data/types';
export type { Field };

/**
 * How a numeric field's values become colours: `linear` over its range, or `rank` (quantile): each colour step holds an
 * equal share of the samples, so a heavy-tailed field such as the loss spreads over the whole ramp.
 */
export type Scale = 'linear' | 'log' | 'rank';

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

/** A value of the field at a position of the colour ramp, for the legend. */
export type Tick = { position: number; value: number };

/**
 * The scale that spreads a numeric field over the ramp: `rank` when a linear scale would paint most samples alike
 * (more than 60% of them in the lowest tenth of the range, as with losses), else `linear`.
 */
export function chooseScale(values: Float32Array, field: Field): Scale {
  if (field.kind !== 'numeric') return 'linear';
  let min = Infinity, max = -Infinity, n = 0;
  for (const v of values) if (Number.isFinite(v)) { n++; if (v < min) min = v; if (v > max) max = v; }
  if (n < 2 || !(max > min)) return 'linear';
  const low = min + 0.1 * (max - min);
  let below = 0;
  for (const v of values) if (Number.isFinite(v) && v <= low) below++;
  return below / n > 0.6 ? 'rank' : 'linear';
}

/**
 * Values of a field as regl-scatterplot wants them: category indices (NaN → an extra "missing" category at the end)
 * for categorical fields; values in [0, 1] for numeric ones (NaN → 0): by the field's range on a linear scale, by their
 * rank on a rank scale. Returns the range and ticks (values at positions of the ramp), so a legend can show the scale.
 */
export function encode(values: Float32Array, field: Field, scale: Scale = 'linear'): { data: Float32Array; min: number; max: number; missing: number; ticks: Tick[] } {
  const data = new Float32Array(values.length);
  let missing = 0;
  if (field.kind === 'categorical') {
    const extra = field.categories?.length ?? 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isNaN(v)) { data[i] = extra; missing++; } else data[i] = v;
    }
    return { data, min: 0, max: extra, missing, ticks: [] };
  }
  if (scale === 'rank') return encodeRank(values);
  if (scale === 'log') return encodeLog(values);
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
  return { data, min, max, missing, ticks: [{ position: 0, value: min }, { position: 0.5, value: (min + max) / 2 }, { position: 1, value: max }] };
}

/** Rank (quantile) encoding: a value's position is the share of finite values below it (ties share their middle rank). */
function encodeRank(values: Float32Array) {
  const data = new Float32Array(values.length);
  const sorted = Float32Array.from(values.filter((v) => Number.isFinite(v))).sort();
  const n = sorted.length;
  const missing = values.length - n;
  if (n === 0) return { data, min: 0, max: 1, missing, ticks: [] };
  const lowerBound = (v: number) => { let lo = 0, hi = n; while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m] < v) lo = m + 1; else hi = m; } return lo; };
  const upperBound = (v: number) => { let lo = 0, hi = n; while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m] <= v) lo = m + 1; else hi = m; } return lo; };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const mid = (lowerBound(v) + upperBound(v) - 1) / 2;
    data[i] = n > 1 ? mid / (n - 1) : 0.5;
  }
  const at = (q: number) => sorted[Math.min(n - 1, Math.round(q * (n - 1)))];
  return { data, min: sorted[0], max: sorted[n - 1], missing, ticks: [0, 0.25, 0.5, 0.75, 1].map((q) => ({ position: q, value: at(q) })) };
}

/** Map coordinates scaled into [-1, 1] on both axes with the same factor (so distances keep their proportions). */
export function normalizeMap(map: Float32Array, dims: number, frame = mapFrame(map, dims)): { x: Float32Array; y: Float32Array } {
  const n = Math.floor(map.length / dims);
  const x = new Float32Array(n), y = new Float32Array(n);
  const { cx, cy, half } = frame;
  for (let i = 0; i < n; i++) {
    x[i] = (map[i * dims] - cx) / half;
    y[i] = ((dims > 1 ? map[i * dims + 1] : 0) - cy) / half;
  }
  return { x, y };
}

/** The frame normalizeMap puts a map in: its bounding box's centre and half its longer side (over 0.95). */
export function mapFrame(map: Float32Array, dims: number): { cx: number; cy: number; half: number } {
  const n = Math.floor(map.length / dims);
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = map[i * dims], b = dims > 1 ? map[i * dims + 1] : 0;
    if (a < minX) minX = a; if (a > maxX) maxX = a; if (b < minY) minY = b; if (b > maxY) maxY = b;
  }
  return { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, half: Math.max(maxX - minX, maxY - minY, 1e-12) / 2 / 0.95 };
}

/**
 * Log encoding: log(v) over the field's range when every finite value is positive, else log(1 + v − min) (so zeros and
 * negatives still have a place). Ticks are at a quarter of the log range each, given back as field values.
 */
function encodeLog(values: Float32Array) {
  const data = new Float32Array(values.length);
  let min = Infinity, max = -Infinity, missing = 0;
  for (const v of values) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; } else missing++;
  if (!Number.isFinite(min)) return { data, min: 0, max: 1, missing, ticks: [] };
  const shift = min > 0 ? 0 : 1 - min;
  const f = (v: number) => Math.log(v + shift), inverse = (t: number) => Math.exp(t) - shift;
  const lo = f(min), span = f(max) - lo || 1;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) data[i] = Math.min(1, Math.max(0, (f(values[i]) - lo) / span));
  return { data, min, max, missing, ticks: [0, 0.25, 0.5, 0.75, 1].map((q) => ({ position: q, value: inverse(lo + q * span) })) };
}

/** Grey for samples without a value: never the colour of the lowest one. */
export const MISSING_COLOUR = '#b9bec8';

/** How a field is coloured: by category, by a stepped scale of small integer counts, or along the continuous ramp. */
export type ScaleKind = 'categorical' | 'discrete' | 'continuous';

/** Most distinct integer values a numeric field may hold and still be coloured as steps. */
export const MAX_STEPS = 24;

/**
 * The kind of scale a field's values call for: categorical fields by category; numeric fields whose finite values are all
 * integers spanning at most MAX_STEPS values (counts such as `forgotten` or `first_learned`) by discrete steps; the rest continuous.
 */
export function scaleKind(values: Float32Array, field: Field): ScaleKind {
  if (field.kind === 'categorical') return 'categorical';
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (!Number.isInteger(v)) return 'continuous';
    if (v < min) min = v; if (v > max) max = v;
  }
  // A constant count (every sample forgotten 0 times) is one step; a constant real value stays on the ramp.
  return Number.isFinite(min) && max - min + 1 <= MAX_STEPS && (max > min || field.discrete === true) ? 'discrete' : 'continuous';
}

/** Colour steps of the continuous ramp (the missing colour comes after them). */
export const CONTINUOUS_STEPS = 64;

/** What the map and the legend need to colour a field: a palette, each sample's index into it, and how it was made. */
export type Colouring = {
  kind: ScaleKind; scale: Scale | null;
  /** Colours; the last one is MISSING_COLOUR. */
  palette: string[];
  /** Each sample's palette index (missing values: the last index). */
  codes: Float32Array;
  min: number; max: number; missing: number; ticks: Tick[];
  /** For a discrete field: the integer value of each step (palette index k holds steps[k]). */
  steps: number[];
};

/** Colours a field's values by the kind of scale its values call for (`scale` applies to continuous fields only). */
export function colouring(values: Float32Array, field: Field, scale: Scale): Colouring {
  const kind = scaleKind(values, field);
  const codes = new Float32Array(values.length);
  if (kind === 'categorical') {
    const e = encode(values, field);
    const palette = [...(field.colors?.length === field.categories!.length ? field.colors : categoricalColors(field.categories!.length)), MISSING_COLOUR];
    return { kind, scale: null, palette, codes: e.data, min: 0, max: e.max, missing: e.missing, ticks: [], steps: [] };
  }
  if (kind === 'discrete') {
    let min = Infinity, max = -Infinity, missing = 0;
    for (const v of values) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; } else missing++;
    const n = max - min + 1;
    // Steps along the ramp, kept off its darkest end so the first step is not mistaken for the background.
    const all = ramp(Math.max(2, n) + 1).slice(1);
    const palette = [...all.slice(0, n), MISSING_COLOUR];
    for (let i = 0; i < values.length; i++) codes[i] = Number.isFinite(values[i]) ? values[i] - min : n;
    return { kind, scale: null, palette, codes, min, max, missing, ticks: [], steps: Array.from({ length: n }, (_, k) => min + k) };
  }
  const e = encode(values, field, scale);
  const palette = [...ramp(CONTINUOUS_STEPS), MISSING_COLOUR];
  for (let i = 0; i < values.length; i++)
    codes[i] = Number.isFinite(values[i]) ? Math.min(CONTINUOUS_STEPS - 1, Math.floor(e.data[i] * CONTINUOUS_STEPS)) : CONTINUOUS_STEPS;
  return { kind, scale, palette, codes, min: e.min, max: e.max, missing: e.missing, ticks: e.ticks, steps: [] };
}
