// The view in the page's address: run, encodings, filters, legend toggles, selection, open sample, tab and camera, so a
// view can be shared and restored. Pure functions: the page reads and writes them (main.ts).
import type { Filter } from '../filters/filters';

/** What the address holds. Every part is optional: a missing one means the page's default. */
export type View = {
  run?: string; color?: string; scale?: string; size?: string;
  filters?: Filter[]; hidden?: number[]; selection?: number[];
  sample?: number; tab?: string;
  /** The camera: the map point at the centre and the zoom distance (1 = the whole map). */
  camera?: { x: number; y: number; distance: number };
  /** The gallery's title, when it shows the selection. */
  gallery?: string;
};

/**
 * Sorted, distinct indices as text: runs of consecutive indices as "start+extra", each start written as the distance
 * from the end of the run before, in base 36, joined by dots. 0..999 is "0+rr"; [5, 9, 10, 11] is "5.4+2".
 */
export function encodeIndices(indices: Iterable<number>): string {
  const sorted = [...new Set(indices)].filter((i) => Number.isInteger(i) && i >= 0).sort((a, b) => a - b);
  const parts: string[] = [];
  let previous = 0;
  for (let k = 0; k < sorted.length;) {
    let end = k;
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end] + 1) end++;
    const start = sorted[k];
    parts.push((start - previous).toString(36) + (end > k ? '+' + (end - k).toString(36) : ''));
    previous = sorted[end];
    k = end + 1;
  }
  return parts.join('.');
}

/** Most indices an address may hold: a run has fewer samples than this (a longer range is not one the page wrote). */
export const MAX_INDICES = 50_000_000;

/** The indices encodeIndices wrote; throws on text it did not write, or on more than MAX_INDICES of them. */
export function decodeIndices(text: string): number[] {
  if (text === '') return [];
  const out: number[] = [];
  let previous = 0;
  for (const part of text.split('.')) {
    const m = /^([0-9a-z]+)(?:\+([0-9a-z]+))?$/.exec(part);
    if (!m) throw new Error(`'${part}' is not an index range`);
    const start = previous + parseInt(m[1], 36);
    const extra = m[2] ? parseInt(m[2], 36) : 0;
    if (out.length + extra + 1 > MAX_INDICES || start + extra > 2 ** 31) throw new Error(`'${part}' reaches past any run`);
    for (let i = 0; i <= extra; i++) out.push(start + i);
    previous = start + extra;
  }
  return out;
}

type FilterJson = { c: string; a: number[] } | { r: string; lo: number | null; hi: number | null } | { i: string; x: string };

const filterToJson = (f: Filter): FilterJson =>
  f.kind === 'categories' ? { c: f.field, a: [...f.allowed].sort((a, b) => a - b) }
    : f.kind === 'range' ? { r: f.field, lo: f.min, hi: f.max }
      : { i: f.name, x: encodeIndices(f.indices) };

function filterFromJson(j: FilterJson): Filter {
  if ('c' in j) return { kind: 'categories', field: String(j.c), allowed: new Set(j.a.map(Number)) };
  if ('r' in j) return { kind: 'range', field: String(j.r), min: j.lo == null ? null : Number(j.lo), max: j.hi == null ? null : Number(j.hi) };
  return { kind: 'indices', name: String(j.i), indices: new Set(decodeIndices(String(j.x))) };
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** The view as a query string (without "?"), parts in a fixed order; defaults are left out. */
export function writeView(v: View): string {
  const q = new URLSearchParams();
  if (v.run) q.set('run', v.run);
  if (v.tab) q.set('tab', v.tab);
  if (v.color) q.set('color', v.color);
  if (v.scale && v.scale !== 'auto') q.set('scale', v.scale);
  if (v.size) q.set('size', v.size);
  if (v.filters?.length) q.set('filters', JSON.stringify(v.filters.map(filterToJson)));
  if (v.hidden?.length) q.set('hidden', [...v.hidden].sort((a, b) => a - b).join(','));
  if (v.selection?.length) q.set('sel', encodeIndices(v.selection));
  if (v.gallery) q.set('gallery', v.gallery);
  if (v.sample != null) q.set('sample', String(v.sample));
  if (v.camera) q.set('view', [round(v.camera.x, 4), round(v.camera.y, 4), round(v.camera.distance, 4)].join(','));
  return q.toString();
}

/** The view a query string holds; a part that cannot be read is left out (the page then uses its default). */
export function readView(search: string): View {
  const q = new URLSearchParams(search);
  const v: View = {};
  const text = (k: string) => q.get(k) ?? undefined;
  v.run = text('run'); v.tab = text('tab'); v.color = text('color'); v.scale = text('scale'); v.size = text('size'); v.gallery = text('gallery');
  try { const f = q.get('filters'); if (f) v.filters = (JSON.parse(f) as FilterJson[]).map(filterFromJson); } catch { /* left out */ }
  const hidden = q.get('hidden');
  if (hidden) v.hidden = hidden.split(',').map(Number).filter(Number.isInteger);
  try { const s = q.get('sel'); if (s) v.selection = decodeIndices(s); } catch { /* left out */ }
  const sample = Number(q.get('sample') ?? NaN);
  if (q.has('sample') && Number.isInteger(sample) && sample >= 0) v.sample = sample;
  const view = q.get('view')?.split(',').map(Number);
  if (view?.length === 3 && view.every(Number.isFinite) && view[2] > 0) v.camera = { x: view[0], y: view[1], distance: view[2] };
  for (const k of Object.keys(v) as (keyof View)[]) if (v[k] === undefined) delete v[k];
  return v;
}
