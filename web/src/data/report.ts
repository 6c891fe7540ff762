// The data source of a report made by `percept report`: the same data as the server's API, embedded in the page
// (columns as base64 float32), with thumbnails in one atlas image and precomputed neighbours. Heat maps need the server.
import { ApiError } from './http';
import type { DataSource, Explanation, Float32Matrix, InsightsDocument, RunSummary, SampleDetails, Similar } from './types';

export type ReportData = {
  summary: RunSummary;
  map: { data: string; rows: number; columns: number };
  columns: Record<string, string>;
  ids: string[];
  probabilities: { data: string; columns: number } | null;
  neighbors: { indices: string; similarities: string; k: number } | null;
  atlas: { png: string; tile: number; perRow: number } | null;
  /** The run's insights, when it has them. */
  insights?: InsightsDocument | null;
  /** A text model's run: every sample's words (then there is no atlas). */
  texts?: string[][] | null;
};

export function base64Floats(text: string): Float32Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

const blank = 'data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=';

export class ReportSource implements DataSource {
  readonly canExplain = false;
  readonly similarHeatmaps = false;
  readonly #report: ReportData;
  readonly #atlas: Promise<HTMLImageElement | null>;
  #atlasReady: HTMLImageElement | null = null;
  readonly #thumbnails = new Map<number, string>();
  readonly #decoded = new Map<string, Float32Array>();
  #probabilities: Float32Array | null = null;

  constructor(report: ReportData) {
    this.#report = report;
    this.#atlas = report.atlas
      ? new Promise((resolve) => { const img = new Image(); img.onload = () => resolve(img); img.onerror = () => resolve(null); img.src = report.atlas!.png; })
      : Promise.resolve(null);
    void this.#atlas.then((img) => { this.#atlasReady = img; });
  }

  #column(name: string): Float32Array {
    let v = this.#decoded.get(name);
    if (!v) { v = base64Floats(this.#report.columns[name]); this.#decoded.set(name, v); }
    return v;
  }

  runs = async () => [{ id: this.#report.summary.id }];
  run = async (_run: string) => { await this.#atlas; return this.#report.summary; };
  map = async (_run: string): Promise<Float32Matrix> => ({ values: base64Floats(this.#report.map.data), rows: this.#report.map.rows, columns: this.#report.map.columns });
  column = async (_run: string, field: string): Promise<Float32Matrix> => ({ values: this.#column(field), rows: this.#report.summary.count, columns: 1 });
  ids = async (_run: string) => this.#report.ids;
  insights = async (_run: string) => this.#report.insights ?? null;
  readonly canCompare = false;
  compare = (): Promise<never> => Promise.reject(new Error('a report holds one run: compare runs on a server (percept serve A B --compare)'));
  compareColumns = (): Promise<never> => this.compare();
  compareMap = (): Promise<never> => this.compare();
  comparePair = async () => null;
  layers = async () => [];
  layerMap = (): Promise<never> => Promise.reject(new Error('a report holds the run\'s map only: layer maps are made by a server (percept serve)'));
  layerSeparation = async () => [];
  onRunAdded = () => {};
  explain = async (): Promise<Explanation> => { throw new ApiError('heat maps need the server: open this run with percept serve'); };

  /** Sample i's thumbnail, cut from the atlas (a transparent pixel until the atlas has loaded). */
  image = (_run: string, i: number): string => {
    const atlas = this.#report.atlas;
    if (!atlas || !this.#atlasReady) return blank;
    let url = this.#thumbnails.get(i);
    if (!url) {
      const c = document.createElement('canvas');
      c.width = c.height = atlas.tile;
      c.getContext('2d')!.drawImage(this.#atlasReady, (i % atlas.perRow) * atlas.tile, Math.floor(i / atlas.perRow) * atlas.tile, atlas.tile, atlas.tile, 0, 0, atlas.tile, atlas.tile);
      url = c.toDataURL();
      this.#thumbnails.set(i, url);
    }
    return url;
  };

  sample = async (run: string, i: number): Promise<SampleDetails> => this.#sample(run, i);

  #sample(run: string, i: number): SampleDetails {
    const r = this.#report;
    const values: Record<string, unknown> = { index: i, id: r.ids[i] };
    for (const f of r.summary.fields) {
      const v = this.#column(f.name)[i];
      if (Number.isNaN(v)) { values[f.name] = null; continue; }
      if (f.kind === 'categorical') {
        values[f.name] = f.name === 'correct' ? v === 1 : f.name === 'label' || f.name === 'prediction' ? v : f.categories![v];
        if (f.name === 'label' || f.name === 'prediction') values[`${f.name}_name`] = f.categories![v];
      } else values[f.name] = v;
    }
    const top: SampleDetails['top'] = [];
    if (r.probabilities) {
      this.#probabilities ??= base64Floats(r.probabilities.data);
      const p = this.#probabilities.subarray(i * r.probabilities.columns, (i + 1) * r.probabilities.columns);
      [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 5).forEach((c) => top.push({ class: c, name: r.summary.classes?.[c] ?? String(c), probability: p[c] }));
    }
    return { index: i, id: r.ids[i], values, top, image: r.texts ? '' : this.image(run, i), tokens: r.texts?.[i] ?? null };
  }

  similar = async (run: string, i: number, k: number): Promise<Similar> => {
    const neighbors = this.#report.neighbors;
    if (!neighbors) throw new ApiError('this report holds no neighbours');
    const indices = new Int32Array(base64Floats(neighbors.indices).buffer);
    const sims = base64Floats(neighbors.similarities);
    const take = Math.min(k, neighbors.k);
    return {
      sample: i, k: take,
      neighbors: Array.from({ length: take }, (_, n) => {
        const j = indices[i * neighbors.k + n];
        const other = this.#sample(run, j);
        return { index: j, similarity: sims[i * neighbors.k + n], values: other.values, image: other.image, heatmap: blank, tokens: other.tokens };
      }),
    };
  };
}
