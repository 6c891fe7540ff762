// The data source over the server's API. Columns arrive as little-endian float32 bytes with their shape in a header.
import type { CompareResult, DataSource, LayerInfo, LayerMapAnswer, LayerSeparation, Explanation, Float32Matrix, InsightsDocument, RunListItem, RunSummary, SampleDetails, Similar } from './types';

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
export function decodeFloat32(buffer: ArrayBuffer, shapeHeader: string | null): Float32Matrix {
  const values = new Float32Array(buffer);
  const [rows, columns] = (shapeHeader ?? `${values.length},1`).split(',').map(Number);
  if (rows * columns !== values.length) throw new ApiError(`column of ${values.length} values does not have shape ${rows}×${columns}`);
  return { values, rows, columns };
}

async function binary(url: string): Promise<Float32Matrix> {
  const r = await fetch(url);
  if (!r.ok) throw new ApiError((await r.json().catch(() => ({}))).error ?? `${r.status}`);
  return decodeFloat32(await r.arrayBuffer(), r.headers.get('X-Percept-Shape'));
}

const base = (run: string) => `api/runs/${encodeURIComponent(run)}`;

export class HttpSource implements DataSource {
  readonly canExplain = true;
  readonly similarHeatmaps = true;
  runs = () => json<RunListItem[]>('api/runs');
  run = (run: string) => json<RunSummary>(base(run));
  map = (run: string) => binary(`${base(run)}/map`);
  column = (run: string, field: string) => binary(`${base(run)}/columns/${encodeURIComponent(field)}`);
  sample = (run: string, i: number) => json<SampleDetails>(`${base(run)}/samples/${i}`);
  image = (run: string, i: number, size = 112) => `${base(run)}/samples/${i}/image.png?size=${size}`;
  explain = (run: string, i: number, method: string, layer: string | null, scale: 'own' | 'shared') =>
    json<Explanation>(`${base(run)}/samples/${i}/explain?method=${encodeURIComponent(method)}${layer ? `&layer=${encodeURIComponent(layer)}` : ''}${scale === 'shared' ? '&scale=shared' : ''}`);
  similar = (run: string, i: number, k: number, overlay?: 'gradcam' | 'gradient') =>
    json<Similar>(`${base(run)}/samples/${i}/similar?k=${k}${overlay ? `&overlay=${overlay}` : ''}`);
  onRunAdded = (f: (run: string) => void) => {
    if (typeof EventSource === 'undefined') return;
    void json<{ live: boolean }>('api/status').then((status) => {
      if (status.live) new EventSource('api/events').addEventListener('run', (e) => f((e as MessageEvent).data as string));
    }).catch(() => { /* an older server: no live updates */ });
  };
  insights = async (run: string): Promise<InsightsDocument | null> => {
    const r = await fetch(`${base(run)}/insights`);
    if (r.status === 404) return null;
    if (!r.ok) throw new ApiError((await r.json().catch(() => ({}))).error ?? `${r.status}`);
    return r.json() as Promise<InsightsDocument>;
  };
  ids = async (run: string) => (await fetch(`${base(run)}/ids`)).text().then((t) => t.split('\n'));
  readonly canCompare = true;
  compare = (a: string, b: string) => json<CompareResult>(`${base(a)}/compare/${encodeURIComponent(b)}`);
  compareColumns = (a: string, b: string) => binary(`${base(a)}/compare/${encodeURIComponent(b)}/columns`);
  compareMap = (a: string, b: string) => binary(`${base(a)}/compare/${encodeURIComponent(b)}/map`);
  layers = (run: string) => json<LayerInfo[]>(`${base(run)}/layers`);
  layerSeparation = (run: string) => json<LayerSeparation[]>(`${base(run)}/layers/separation`);
  layerMap = async (run: string, layer: string): Promise<LayerMapAnswer> => {
    const r = await fetch(`${base(run)}/layers/map?layer=${encodeURIComponent(layer)}`);
    if (r.status === 202) return { job: await r.json() };
    if (!r.ok) throw new ApiError((await r.json().catch(() => ({}))).error ?? `${r.status}`);
    return { map: decodeFloat32(await r.arrayBuffer(), r.headers.get('X-Percept-Shape')) };
  };
  comparePair = () => json<{ compare?: [string, string] | null }>('api/status').then((s) => s.compare ?? null).catch(() => null);
}
