// The dashboard's shared state: the run on screen, its columns, the encodings, filters, selection and open sample.
import { source, type Field, type RunSummary } from './data';
import type { Filter } from './filters/filters';
import type { Scale } from './map/scales';
import { formatNumber } from './ui';

export type State = {
  run: RunSummary;
  columns: Map<string, Float32Array>;
  x: Float32Array; y: Float32Array;
  colorBy: string; sizeBy: string;
  /** The colour scale of a numeric colour field: 'auto' picks rank for heavy-tailed fields. */
  colorScale: Scale | 'auto';
  /** Categories of the colour field switched off in the legend. */
  hidden: Set<number>;
  filters: Filter[];
  /** Samples that pass the filters (not counting legend toggles), and those shown (filters and legend). */
  filterMask: Uint8Array;
  mask: Uint8Array; shown: number;
  selection: number[];
  current: number | null;
  ids: string[] | null;
};

let current: State | null = null;

/** The state of the run on screen (set once the first run has loaded). */
export function state(): State {
  if (!current) throw new Error('no run loaded yet');
  return current;
}

export const setState = (s: State) => { current = s; };

/** The field called `name`. */
export const field = (name: string): Field => state().run.fields.find((f) => f.name === name)!;

/** A field's values, fetched on first use and kept. */
export async function column(name: string): Promise<Float32Array> {
  const s = state();
  let c = s.columns.get(name);
  if (!c) {
    c = (await source.column(s.run.id, name)).values;
    s.columns.set(name, c);
  }
  return c;
}

/** Sample i's value of a loaded field, or undefined. */
export const value = (name: string, i: number) => state().columns.get(name)?.[i];

/** Sample i's value of a field as text: the category's name, or the number. */
export function valueText(name: string, i: number): string {
  const v = value(name, i);
  const f = field(name);
  if (v === undefined || Number.isNaN(v)) return '—';
  return f?.categories ? f.categories[v] ?? String(v) : formatNumber(v);
}
