// Finding samples: "#123" (an index), "id:abc", "label=Sandal", "loss>2.5", "forgotten>=1", or plain text (a sample id,
// else a category of any categorical field, label first). Pure: the page gives it the run's fields, columns and ids.
import type { Field } from '../data/types';

export type SearchContext = {
  count: number;
  fields: Field[];
  column: (name: string) => Promise<Float32Array>;
  ids: () => Promise<string[]>;
};

export type Found = { title: string; indices: number[] } | { error: string };

const OPERATORS = ['>=', '<=', '!=', '=', ':', '>', '<'] as const;
type Op = (typeof OPERATORS)[number];

function compare(v: number, op: Op, x: number) {
  switch (op) {
    case '>=': return v >= x;
    case '<=': return v <= x;
    case '>': return v > x;
    case '<': return v < x;
    case '!=': return v !== x;
    default: return v === x;
  }
}

/** The samples a query names, with a title for the gallery, or an error that says what the query can be. */
export async function search(query: string, ctx: SearchContext): Promise<Found> {
  const q = query.trim();
  if (!q) return { error: 'type an id, #index, a class, or field=value' };
  const index = /^#(\d+)$/.exec(q);
  if (index) {
    const i = Number(index[1]);
    return i < ctx.count ? { title: `#${i}`, indices: [i] } : { error: `#${i} is out of range: the run has ${ctx.count.toLocaleString('en-US')} samples` };
  }
  const byId = /^id\s*[:=]\s*(.+)$/i.exec(q);
  if (byId) return findIds(byId[1].trim(), ctx);
  for (const op of OPERATORS) {
    const at = q.indexOf(op);
    if (at <= 0) continue;
    const name = q.slice(0, at).trim();
    const field = ctx.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (!field) continue;
    const text = q.slice(at + op.length).trim();
    const values = await ctx.column(field.name);
    let target: number;
    if (field.kind === 'categorical') {
      const k = field.categories!.findIndex((c) => c.toLowerCase() === text.toLowerCase());
      if (k < 0 || !['=', ':', '!='].includes(op))
        return { error: `${field.name} is a category: ${field.name}=${field.categories!.slice(0, 4).join(`, ${field.name}=`)}${field.categories!.length > 4 ? ', …' : ''}` };
      target = k;
    } else {
      // The columns are float32: compare with the value as float32 (0.2 is stored as 0.2000000030).
      target = Math.fround(Number(text));
      if (text === '' || !Number.isFinite(target)) return { error: `${field.name} is a number: try ${field.name}>${field.max ?? 1}` };
    }
    const indices: number[] = [];
    for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]) && compare(values[i], op, target)) indices.push(i);
    const shown = field.kind === 'categorical' ? field.categories![target] : text;
    return { title: `${field.name} ${op === ':' ? '=' : op} ${shown}`, indices };
  }
  // Plain text: a sample id first, then a category name (the label field before the others).
  const ids = await findIds(q, ctx);
  if (!('error' in ids)) return ids;
  const categorical = ctx.fields.filter((f) => f.kind === 'categorical' && f.categories)
    .sort((a, b) => Number(b.name === 'label') - Number(a.name === 'label'));
  for (const field of categorical) {
    const k = field.categories!.findIndex((c) => c.toLowerCase() === q.toLowerCase());
    if (k < 0) continue;
    const values = await ctx.column(field.name);
    const indices: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] === k) indices.push(i);
    return { title: `${field.name} = ${field.categories![k]}`, indices };
  }
  return { error: `nothing matches '${q}': type an id, #index, a class, or field=value (e.g. loss>2)` };
}

/** Samples whose id is the text, else whose id contains it (at most 5,000). */
async function findIds(text: string, ctx: SearchContext): Promise<Found> {
  const ids = await ctx.ids();
  const exact: number[] = [];
  ids.forEach((id, i) => { if (id === text) exact.push(i); });
  if (exact.length) return { title: `id ${text}`, indices: exact };
  const lower = text.toLowerCase();
  const partial: number[] = [];
  for (let i = 0; i < ids.length && partial.length < 5000; i++) if (ids[i].toLowerCase().includes(lower)) partial.push(i);
  return partial.length ? { title: `ids containing '${text}'`, indices: partial } : { error: `no sample id is or contains '${text}'` };
}
