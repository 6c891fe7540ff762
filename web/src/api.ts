// The server's API (see /api/openapi/v1.json). Columns arrive as little-endian float32 bytes.
import type { Field } from './scales';

export type RunSummary = {
  id: string; description: string; count: number; model: string; created: string;
  classes: string[] | null; numClasses: number; hasLabels: boolean; accuracy: number | null; meanLoss: number | null;
  map: { method: string; dimensions: number; trustworthiness: number } | null;
  fields: Field[]; methods: string[]; camLayers: string[]; runs: string[];
};
export type SampleDetails = {
  index: number; id: string; values: Record<string, unknown>;
  top: { class: number; name: string; probability: number }[]; image: string;
};
export type Explanation = {
  sample: number; method: string; layer: string | null; seconds: number; image: string;
  targets: { name: string; kind: string; class: number; score: number; image: string }[];
};
export type Similar = {
  sample: number; k: number;
  neighbors: { index: number; similarity: number; values: Record<string, unknown>; image: string; heatmap: string }[];
};

export class ApiError extends Error {}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try { message = (await r.json()).error ?? message; } catch { /* not JSON */ }
    throw new ApiError(message);
  }
  return r.json() as Promise<T>;
}

/** Decodes a binary column: the bytes as float32 values, and the shape from the X-Percept-Shape header. */
export function decodeFloat32(buffer: ArrayBuffer, shapeHeader: string | null): { values: Float32Array; rows: number; columns: number } {
  const values = new Float32Array(buffer);
  const [rows, columns] = (shapeHeader ?? `${values.length},1`).split(',').map(Number);
  if (rows * columns !== values.length) throw new ApiError(`column of ${values.length} values does not have shape ${rows}×${columns}`);
  return { values, rows, columns };
}

async function binary(url: string) {
  const r = await fetch(url);
  if (!r.ok) throw new ApiError((await r.json().catch(() => ({}))).error ?? `${r.status}`);
  return decodeFloat32(await r.arrayBuffer(), r.headers.get('X-Percept-Shape'));
}

const base = (run: string) => `api/runs/${encodeURIComponent(run)}`;
export const api = {
  runs: () => json<{ id: string }[]>('api/runs'),
  run: (run: string) => json<RunSummary>(base(run)),
  map: (run: string) => binary(`${base(run)}/map`),
  column: (run: string, field: string) => binary(`${base(run)}/columns/${encodeURIComponent(field)}`),
  sample: (run: string, i: number) => json<SampleDetails>(`${base(run)}/samples/${i}`),
  image: (run: string, i: number, size = 112) => `${base(run)}/samples/${i}/image.png?size=${size}`,
  explain: (run: string, i: number, method: string, layer: string | null) =>
    json<Explanation>(`${base(run)}/samples/${i}/explain?method=${method}${layer ? `&layer=${encodeURIComponent(layer)}` : ''}`),
  similar: (run: string, i: number, k: number) => json<Similar>(`${base(run)}/samples/${i}/similar?k=${k}`),
  ids: async (run: string) => (await fetch(`${base(run)}/ids`)).text().then((t) => t.split('\n')),
};

/** Server URLs are absolute paths; the page may be served under a prefix, so make them relative. */
export const rel = (url: string) => (url.startsWith('/') ? url.slice(1) : url);
