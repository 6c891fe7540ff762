// Which samples the map shows (every active filter must pass), counts per category, and selections as CSV.

export type Filter =
  | { kind: 'categories'; field: string; allowed: Set<number> }
  | { kind: 'range'; field: string; min: number | null; max: number | null }
  | { kind: 'indices'; name: string; indices: Set<number> };

/** A mask of the samples that pass every filter (1 = shown), and how many pass. */
export function applyFilters(count: number, filters: Filter[], column: (field: string) => Float32Array): { mask: Uint8Array; shown: number } {
  const mask = new Uint8Array(count).fill(1);
  for (const f of filters) {
    if (f.kind === 'indices') {
      for (let i = 0; i < count; i++) if (mask[i] && !f.indices.has(i)) mask[i] = 0;
      continue;
    }
    const values = column(f.field);
    for (let i = 0; i < count; i++) {
      if (!mask[i]) continue;
      const v = values[i];
      if (f.kind === 'categories') {
        if (Number.isNaN(v) || !f.allowed.has(v)) mask[i] = 0;
      } else if (Number.isNaN(v) || (f.min !== null && v < f.min) || (f.max !== null && v > f.max)) mask[i] = 0;
    }
  }
  let shown = 0;
  for (let i = 0; i < count; i++) shown += mask[i];
  return { mask, shown };
}

/** Indices where the mask is set. */
export function maskIndices(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

/** A CSV of the selected samples: index, id and, when known, label, prediction and loss. Quotes fields as RFC 4180 does. */
export function selectionCsv(indices: number[], ids: string[] | null, extra: { name: string; value: (i: number) => string }[]): string {
  const quote = (s: string) => (/[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s);
  const header = ['index', 'id', ...extra.map((e) => e.name)].map(quote).join(',');
  const rows = indices.map((i) => [String(i), ids ? ids[i] ?? '' : String(i), ...extra.map((e) => e.value(i))].map(quote).join(','));
  return [header, ...rows].join('\n') + '\n';
}

/** How many samples shown by `mask` (all when null) hold each category code 0..categories−1 of `values`. */
export function categoryCounts(values: Float32Array, categories: number, mask: Uint8Array | null): number[] {
  const counts = new Array<number>(categories).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((mask === null || mask[i]) && !Number.isNaN(v) && v >= 0 && v < categories) counts[v]++;
  }
  return counts;
}
