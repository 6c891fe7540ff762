// The server's API (see /api/openapi/v1.json). Columns arrive as little-endian float32 bytes.
import type { Field } from './scales';

export type RunSummary = {
  id: string; description: string; count: number; model: string; created: string;
  classes: string[] | null; numClasses: number; hasLabels: boolean; accuracy: number | null; meanLoss: number | null;
  map: { method: string; dimensions: number; trustworthiness: number } | null;
  fields: Field[]; methods: MethodInfo[]; camLayers: string[]; runs: string[];
};
/** An attribution method as the server's registry describes it; the pickers are drawn from these. */
export type MethodInfo = {
  name: string; label: string; needsLayer: boolean; needsGradients: boolean; description: string;
  parameters: { name: string; default: string; description: string }[];
};
export type SampleDetails = {
  index: number; id: string; values: Record<string, unknown>;
  top: { class: number; name: string; probability: number }[]; image: string;
};
export type Explanation = {
  sample: number; method: string; layer: string | null; seconds: number; image: string;
  targets: { name: string; kind: string; class: number; score: number; image: string; note?: string | null }[];
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

/**
 * A report made by `percept report`: the same data as the server's API, embedded in the page (columns as base64
 * float32), with thumbnails in one atlas image and precomputed neighbours. Heat maps need the server.
 */
export type ReportData = {
  summary: RunSummary;
  map: { data: string; rows: number; columns: number };
  columns: Record<string, string>;
  ids: string[];
  probabilities: { data: string; columns: number } | null;
  neighbors: { indices: string; similarities: string; k: number } | null;
  atlas: { png: string; tile: number; perRow: number } | null;
};

export function base64Floats(text: string): Float32Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

const report = (globalThis as { __PERCEPT_REPORT__?: ReportData }).__PERCEPT_REPORT__ ?? null;
export const isReport = report !== null;

const atlasImage: Promise<HTMLImageElement | null> = report?.atlas
  ? new Promise((resolve) => { const img = new Image(); img.onload = () => resolve(img); img.onerror = () => resolve(null); img.src = report.atlas!.png; })
  : Promise.resolve(null);
let atlasReady: HTMLImageElement | null = null;
void atlasImage.then((img) => { atlasReady = img; });
const thumbnails = new Map<number, string>();

/** A report's thumbnail of sample i, cut from the atlas (a transparent pixel until the atlas has loaded). */
function reportImage(i: number): string {
  const blank = 'data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=';
  if (!report?.atlas || !atlasReady) return blank;
  let url = thumbnails.get(i);
  if (!url) {
    const { tile, perRow } = report.atlas;
    const c = document.createElement('canvas');
    c.width = c.height = tile;
    c.getContext('2d')!.drawImage(atlasReady, (i % perRow) * tile, Math.floor(i / perRow) * tile, tile, tile, 0, 0, tile, tile);
    url = c.toDataURL();
    thumbnails.set(i, url);
  }
  return url;
}

function reportSample(i: number): SampleDetails {
  const r = report!;
  const values: Record<string, unknown> = { index: i, id: r.ids[i] };
  for (const f of r.summary.fields) {
    const v = base64Cache(f.name)[i];
    if (Number.isNaN(v)) { values[f.name] = null; continue; }
    if (f.kind === 'categorical') {
      values[f.name] = f.name === 'correct' ? v === 1 : f.name === 'label' || f.name === 'prediction' ? v : f.categories![v];
      if (f.name === 'label' || f.name === 'prediction') values[`${f.name}_name`] = f.categories![v];
    } else values[f.name] = v;
  }
  const top: SampleDetails['top'] = [];
  if (r.probabilities) {
    const p = probabilities().subarray(i * r.probabilities.columns, (i + 1) * r.probabilities.columns);
    [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 5).forEach((c) => top.push({ class: c, name: r.summary.classes?.[c] ?? String(c), probability: p[c] }));
  }
  return { index: i, id: r.ids[i], values, top, image: reportImage(i) };
}

const decoded = new Map<string, Float32Array>();
function base64Cache(name: string): Float32Array {
  let v = decoded.get(name);
  if (!v) { v = base64Floats(report!.columns[name]); decoded.set(name, v); }
  return v;
}
let probs: Float32Array | null = null;
const probabilities = () => (probs ??= base64Floats(report!.probabilities!.data));

function reportSimilar(i: number, k: number): Similar {
  const r = report!;
  if (!r.neighbors) throw new ApiError('this report holds no neighbours');
  const indices = new Int32Array(base64Floats(r.neighbors.indices).buffer);
  const sims = base64Floats(r.neighbors.similarities);
  const take = Math.min(k, r.neighbors.k);
  const blank = 'data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=';
  const neighbors = Array.from({ length: take }, (_, n) => {
    const j = indices[i * r.neighbors!.k + n];
    return { index: j, similarity: sims[i * r.neighbors!.k + n], values: reportSample(j).values, image: reportImage(j), heatmap: blank };
  });
  return { sample: i, k: take, neighbors };
}

const base = (run: string) => `api/runs/${encodeURIComponent(run)}`;
export const api = {
  runs: async () => (report ? [{ id: report.summary.id }] : json<{ id: string }[]>('api/runs')),
  run: async (run: string) => {
    if (!report) return json<RunSummary>(base(run));
    await atlasImage;
    return report.summary;
  },
  map: async (run: string) => (report ? { values: base64Floats(report.map.data), rows: report.map.rows, columns: report.map.columns } : binary(`${base(run)}/map`)),
  column: async (run: string, field: string) => (report ? { values: base64Cache(field), rows: report.summary.count, columns: 1 } : binary(`${base(run)}/columns/${encodeURIComponent(field)}`)),
  sample: async (run: string, i: number) => (report ? reportSample(i) : json<SampleDetails>(`${base(run)}/samples/${i}`)),
  image: (run: string, i: number, size = 112) => (report ? reportImage(i) : `${base(run)}/samples/${i}/image.png?size=${size}`),
  explain: (run: string, i: number, method: string, layer: string | null) =>
    json<Explanation>(`${base(run)}/samples/${i}/explain?method=${method}${layer ? `&layer=${encodeURIComponent(layer)}` : ''}`),
  similar: async (run: string, i: number, k: number) => (report ? reportSimilar(i, k) : json<Similar>(`${base(run)}/samples/${i}/similar?k=${k}`)),
  ids: async (run: string) => (report ? report.ids : (await fetch(`${base(run)}/ids`)).text().then((t) => t.split('\n'))),
};

/** Server URLs are absolute paths; the page may be served under a prefix, so make them relative. */
export const rel = (url: string) => (url.startsWith('/') ? url.slice(1) : url);

/** Appends a query parameter to a URL (data: URLs from a report are left alone). */
export const withQuery = (url: string, param: string) => (url.startsWith('data:') ? url : url + (url.includes('?') ? '&' : '?') + param);
