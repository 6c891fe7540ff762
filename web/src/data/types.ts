// What the dashboard reads about a run, as the server's API (/api/openapi/v1.json) and the report's embedded data give it.

/** A field of the samples table: a number per sample, or a category code. */
export type Field = {
  name: string;
  kind: 'numeric' | 'categorical';
  min: number | null;
  max: number | null;
  categories: string[] | null;
  /** Whether the field holds counts (whole numbers such as epochs or times forgotten). */
  discrete?: boolean;
  /** A categorical field's own colours, one per category (compare mode's change: fixed green, broken red, …). */
  colors?: string[];
};

/** An attribution method as the server's registry describes it; the method pickers are drawn from these. */
export type MethodInfo = {
  name: string; label: string; needsLayer: boolean; needsGradients: boolean; description: string;
  parameters: { name: string; default: string; description: string }[];
};

export type RunListItem = { id: string };

export type RunSummary = {
  id: string; description: string; count: number; model: string; created: string;
  classes: string[] | null; numClasses: number; hasLabels: boolean; accuracy: number | null; meanLoss: number | null;
  map: { method: string; dimensions: number; trustworthiness: number } | null;
  fields: Field[]; methods: MethodInfo[]; camLayers: string[]; runs: string[];
  /** Set when the run is one epoch of a training: which, and every epoch's totals and run id. */
  training?: { epoch: number; epochs: number[]; runs: (string | null)[]; accuracy: (number | null)[]; meanLoss: (number | null)[]; meanDisplacement: (number | null)[] } | null;
  /** Set for a text model's run: samples are token ids, shown as words. */
  text?: { tokens: number; vocabulary: boolean } | null;
};

export type SampleDetails = {
  index: number; id: string; values: Record<string, unknown>;
  top: { class: number; name: string; probability: number }[]; image: string;
  /** A text sample's words (then `image` is empty). */
  tokens?: string[] | null;
  /** For an epoch of a training: the sample's loss, prediction and correctness at every epoch. */
  history?: { loss: (number | null)[]; prediction: (string | null)[]; correct: (boolean | null)[] } | null;
};

export type Explanation = {
  sample: number; method: string; layer: string | null; seconds: number; image: string;
  /** 'own': each map drawn to its own largest |value|; 'shared': all to sharedLargest. */
  scale: 'own' | 'shared'; sharedLargest: number;
  /** The overlays' colours from −largest (blue) through 0 to +largest (warm). */
  colourBar: string[];
  /** For text, `values` holds one score per word of the sample (and `image` is empty). */
  targets: { name: string; kind: string; class: number; score: number; image: string; largest: number; note?: string | null; values?: number[] | null }[];
};

export type Similar = {
  sample: number; k: number;
  /** What the neighbours' heat maps show: 'gradcam' (coarse, at the last convolution) or 'gradient' (gradient × input). */
  overlay?: 'gradcam' | 'gradient' | null;
  neighbors: { index: number; similarity: number; values: Record<string, unknown>; image: string; heatmap: string; tokens?: string[] | null; tokenScores?: number[] | null }[];
};

/** The run's insights as `percept insights --json` writes them (docs/insights.md). */
export type InsightsDocument = {
  version: number; neighbors: number;
  class_proximity: { classes: string[]; matrix: number[][]; spearman: number } | null;
  insights: {
    kind: string; severity: 'info' | 'warning' | 'critical'; title: string; classes: string[]; evidence: Record<string, unknown>;
    /** Each sample may carry its own evidence (mislabel and ambiguous cards: `neighbors` [{class, count}], `model` {label, label_probability, perceived, perceived_probability}, `history`). */
    samples: { index: number; id: string; evidence?: Record<string, unknown> }[]; pairs: { index: number; id: string }[][] | null; action: string;
    /** What acting on the card would change (samples, weighted by how sure Percept is); cards come sorted by it. */
    impact?: number;
    /** The estimated share of the card's samples that are what it says (mislabel and ambiguous cards). */
    precision?: number | null;
    /** Among the first cards a person should read (the rest sit behind "more"). */
    primary?: boolean;
    /** Typical samples of the class a rare variant belongs to, to set beside it. */
    typical?: { index: number; id: string }[] | null;
  }[];
  notes: string[];
  label_issues?: { basis: string; fits_against_neighbours: number | null; samples_measured: number; estimated_issues: number } | null;
};

/** Run A against run B over the samples they share (`/api/runs/{a}/compare/{b}`). */
export type CompareResult = {
  a: string; b: string;
  /** The change categories; the per-sample column holds indices into them. */
  categories: string[];
  /** A's samples in each category. */
  counts: number[];
  movedBelow: number;
  /** The comparison document, as `percept compare --json` prints it (docs/compare.md). */
  comparison: {
    a: { run: string; model: string; count: number; accuracy: number | null };
    b: { run: string; model: string; count: number; accuracy: number | null };
    samples: { by: string; matched: number; only_a: number; only_b: number };
    predictions: { labelled: number; fixed: number; broken: number; right_in_both: number; wrong_in_both: number } | null;
    per_class: { class: string; count: number; accuracy_a: number | null; accuracy_b: number | null }[];
    perception: { k: number; mean_overlap: number; median_overlap: number } | null;
    class_proximity: { class_a: string; class_b: string; share_a: number; share_b: number }[];
    insights: { appeared: { kind: string; title: string }[]; vanished: { kind: string; title: string }[] } | null;
    notes: string[];
  };
};

/** A recorded layer of a run (`/api/runs/{run}/layers`). */
export type LayerInfo = { name: string; op: string; width: number; map: boolean };
/** How well a layer separates the classes (`…/layers/separation`). */
export type LayerSeparation = { layer: string; width: number; samples: number; k: number; agreement: number; chance: number };
/** A layer map: ready, or still being made (its stage and the share done). */
export type LayerMapAnswer = { map: Float32Matrix } | { job: { layer: string; stage: string; fraction: number; seconds: number } };

/** A matrix of float32 values (a column is N × 1, the map N × dimensions). */
export type Float32Matrix = { values: Float32Array; rows: number; columns: number };

/** Where the dashboard's data come from: the server over HTTP, or a report's embedded data. Both implement this. */
export interface DataSource {
  /** Whether heat maps can be computed (a server can; a report cannot). */
  readonly canExplain: boolean;
  /** Whether neighbours come with similarity heat maps. */
  readonly similarHeatmaps: boolean;
  runs(): Promise<RunListItem[]>;
  run(run: string): Promise<RunSummary>;
  map(run: string): Promise<Float32Matrix>;
  column(run: string, field: string): Promise<Float32Matrix>;
  sample(run: string, i: number): Promise<SampleDetails>;
  /** The URL of sample i's thumbnail, `size` pixels on its longer side. */
  image(run: string, i: number, size?: number): string;
  explain(run: string, i: number, method: string, layer: string | null, scale: 'own' | 'shared'): Promise<Explanation>;
  similar(run: string, i: number, k: number, overlay?: 'gradcam' | 'gradient'): Promise<Similar>;
  ids(run: string): Promise<string[]>;
  /**
   * Calls `f` with a run's id each time the server starts serving another (a training's new epoch); only a live server
   * (percept watch --serve) opens the event stream, so a page of finished runs holds no request open (a headless
   * screenshot waits for open requests). A report has none.
   */
  onRunAdded(f: (run: string) => void): void;
  /** The run's insights, or null when it has none. */
  insights(run: string): Promise<InsightsDocument | null>;
  /** Compare mode's data (a server computes them; a report has none). */
  readonly canCompare: boolean;
  compare(a: string, b: string): Promise<CompareResult>;
  /** Per sample of A: change code, share of neighbours kept, index in B (N × 3). */
  compareColumns(a: string, b: string): Promise<Float32Matrix>;
  /** B's map aligned to A's over the shared samples (B's samples × 2). */
  compareMap(a: string, b: string): Promise<Float32Matrix>;
  /** The two runs the server was asked to open side by side (percept serve A B --compare), or null. */
  comparePair(): Promise<[string, string] | null>;
  /** The run's recorded layers (none from a report: layer maps are made by a server). */
  layers(run: string): Promise<LayerInfo[]>;
  /** One layer's map, or how far its making has got (ask again). */
  layerMap(run: string, layer: string): Promise<LayerMapAnswer>;
  layerSeparation(run: string): Promise<LayerSeparation[]>;
}
