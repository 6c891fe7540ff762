// The population map: regl-scatterplot (WebGL) drawing every sample as a dot, coloured by the kind of scale its field
// calls for and sized by a field, with the shown samples following the filters, hover previews, click and lasso
// selection, zoom to a selection, and, above DENSITY_ABOVE shown samples, a density layer with a level of detail: the
// dots on screen drawn individually once few enough, an even sample of them before, and only the density while moving.
import createScatterplot from 'regl-scatterplot';
import { rel, source } from '../data';
import { applyFilters, maskIndices, type Filter } from '../filters/filters';
import { column, field, state, value, valueText } from '../state';
import { snippet } from '../text/text';
import { $, el, formatNumber } from '../ui';
import { densityImage, levelOfDetail, newScratch, priorities, prioritySubset, rgbBytes, type Affine } from './density';
import { chooseScale, colouring, type Colouring, type Scale } from './scales';

const canvas = $<HTMLCanvasElement>('map');
const densityCanvas = $<HTMLCanvasElement>('density');
const wrap = $('map-wrap');

/** Above this many shown samples the map draws a density layer and a level of detail (`?density=N` sets it). */
const DENSITY_ABOVE = (() => {
  const asked = Number(new URLSearchParams(location.search).get('density'));
  return Number.isFinite(asked) && asked > 0 ? asked : 200_000;
})();
/** Dots drawn individually at rest (all of those on screen when there are no more), and while the map moves. */
const REST_BUDGET = Math.min(120_000, Math.max(1, Math.floor(DENSITY_ABOVE / 2)));
const MOVING_BUDGET = Math.min(3_000, Math.max(1, Math.floor(DENSITY_ABOVE / 10)));

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#ffffff';

/** A CSS colour as RGBA in [0, 1] with the given alpha. */
function rgba(colour: string, alpha: number): [number, number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(colour);
  if (!m) return [1, 1, 1, alpha];
  const n = parseInt(m[1], 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255, alpha];
}

export const scatterplot = createScatterplot({
  canvas,
  width: wrap.clientWidth,
  height: wrap.clientHeight,
  pointSize: 4,
  opacityInactiveScale: 0.25,
  pointColorActive: css('--text'),
  pointOutlineWidth: 2,
  lassoColor: css('--accent'),
  lassoOnLongPress: false,
  // Transparent: the map's own background (and the density layer under the dots) shows through.
  backgroundColor: rgba(css('--map-bg'), 0),
  deselectOnEscape: false,
});
new ResizeObserver(() => {
  if (wrap.clientWidth < 1 || wrap.clientHeight < 1) return;
  scatterplot.set({ width: wrap.clientWidth, height: wrap.clientHeight });
  scheduleDensity();
  settleSoon();
}).observe(wrap);

// Light or dark, as the system says: the selection outline and the lasso follow the page's colours.
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  scatterplot.set({ pointColorActive: css('--text'), lassoColor: css('--accent'), backgroundColor: rgba(css('--map-bg'), 0) });
  scheduleDensity();
});

// regl-scatterplot reads a mouse-up within a few pixels of the mouse-down as a click and selects the nearest dot, even
// when the pointer went round a lasso in between (a closed loop ends where it began). A press that travelled is a
// drag (lasso or pan), never a click: its click event is stopped before it reaches the scatterplot.
let travelled = 0, last: { x: number; y: number } | null = null;
wrap.addEventListener('pointerdown', (e) => { travelled = 0; last = { x: e.clientX, y: e.clientY }; }, true);
wrap.addEventListener('pointermove', (e) => {
  if (!last || !(e.buttons & 1)) return;
  travelled += Math.hypot(e.clientX - last.x, e.clientY - last.y);
  last = { x: e.clientX, y: e.clientY };
}, true);
wrap.addEventListener('click', (e) => { if (travelled > 8) e.stopPropagation(); last = null; }, true);

let mouse = { x: 0, y: 0 };
wrap.addEventListener('mousemove', (e) => { const r = wrap.getBoundingClientRect(); mouse = { x: e.clientX - r.left, y: e.clientY - r.top }; });

const tooltip = $('tooltip');
scatterplot.subscribe('pointOver', (i: number) => {
  const s = state();
  const lines = [`#${i}`];
  if (s.columns.has('label')) lines.push(`label: ${valueText('label', i)}`);
  if (s.columns.has('prediction')) lines.push(`prediction: ${valueText('prediction', i)}`);
  if (s.columns.has('loss')) lines.push(`loss: ${formatNumber(value('loss', i)!)}`);
  if (!['label', 'prediction', 'loss'].includes(s.colorBy) && s.columns.has(s.colorBy)) lines.push(`${s.colorBy}: ${valueText(s.colorBy, i)}`);
  const preview = s.run.text ? textPreview(s.run.id, i) : el('img', { src: rel(source.image(s.run.id, i, 96)), alt: `sample ${i}` });
  tooltip.replaceChildren(preview, ...lines.map((t) => el('div', { textContent: t })));
  tooltip.dataset.sample = String(i);
  tooltip.hidden = false;
  const left = Math.min(mouse.x + 14, wrap.clientWidth - 130), top = Math.min(mouse.y + 14, wrap.clientHeight - 170);
  tooltip.style.left = `${Math.max(0, left)}px`; tooltip.style.top = `${Math.max(0, top)}px`;
});
/** A text sample's first words in the tooltip (fetched once per sample and kept; the tooltip may have moved on when they arrive). */
const snippets = new Map<number, string>();
function textPreview(run: string, i: number) {
  const box = el('div', { className: 'tooltip-text', textContent: snippets.get(i) ?? '…' });
  if (!snippets.has(i))
    void source.sample(run, i).then((d) => {
      snippets.set(i, snippet(d.tokens ?? []));
      if (tooltip.dataset.sample === String(i)) box.textContent = snippets.get(i)!;
    }).catch(() => { box.textContent = ''; });
  return box;
}

scatterplot.subscribe('pointOut', () => { tooltip.hidden = true; });

/** Dot size without a size encoding: smaller as the population grows, so dense maps stay readable and fast. */
const baseSize = () => (state().run.count > 200_000 ? 2 : state().run.count > 50_000 ? 2.5 : 4);

/** What the legend needs to show the colour encoding. */
export type Encoding = Colouring;

/** The current colouring (the density layer draws with it too). */
let current: { colouring: Colouring; palette: Uint8Array } | null = null;

/** Per run: fixed priorities for the level of detail, and the samples at the map's extremes (to place the map on screen). */
let lod: { run: string; priority: Float32Array; ref: [number, number, number, number]; moving: { indices: Uint32Array; weight: number } | null } | null = null;

/** Samples the density layer bins while the map moves, at most: beyond, an even subset of about this many stands for all. */
const MOVING_DENSITY = 250_000;

function prepareLevelOfDetail() {
  const s = state();
  if (lod?.run === s.run.id && lod.priority.length === s.run.count) {
    lod.ref = extremes(s.x, s.y);
    return;
  }
  const priority = priorities(s.run.count);
  const share = MOVING_DENSITY / s.run.count;
  lod = { run: s.run.id, priority, ref: extremes(s.x, s.y), moving: share < 0.8 ? { indices: prioritySubset(priority, share), weight: 1 / share } : null };
}

function extremes(x: Float32Array, y: Float32Array): [number, number, number, number] {
  let a = 0, b = 0, c = 0, d = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i] < x[a]) a = i; if (x[i] > x[b]) b = i;
    if (y[i] < y[c]) c = i; if (y[i] > y[d]) d = i;
  }
  return [a, b, c, d];
}

/** Where map coordinates land on screen now (CSS pixels), from the screen positions of the map's extreme samples. */
function screenAffine(): Affine | null {
  if (!lod) return null;
  const s = state();
  if (!scatterplot.get('isPointsDrawn')) {
    // Before the first draw the camera shows the whole map: [-1, 1] on the shorter side, centred.
    const w = wrap.clientWidth, h = wrap.clientHeight, aspect = w / Math.max(1, h);
    return { ax: w / 2 / aspect, bx: w / 2, ay: -h / 2, by: h / 2 };
  }
  const [a, b, c, d] = lod.ref;
  const pa = scatterplot.getScreenPosition(a), pb = scatterplot.getScreenPosition(b);
  const pc = scatterplot.getScreenPosition(c), pd = scatterplot.getScreenPosition(d);
  if (!pa || !pb || !pc || !pd || s.x[b] === s.x[a] || s.y[d] === s.y[c]) return null;
  const ax = (pb[0] - pa[0]) / (s.x[b] - s.x[a]), ay = (pd[1] - pc[1]) / (s.y[d] - s.y[c]);
  return { ax, bx: pa[0] - ax * s.x[a], ay, by: pc[1] - ay * s.y[c] };
}

/** Whether the map draws a density layer: more shown samples than DENSITY_ABOVE. */
export const dense = () => state().shown > DENSITY_ABOVE;
/** Above this many shown samples, a moving map draws few dots over the density layer (all of them again once it stops). */
const MOVING_ABOVE = Math.min(60_000, DENSITY_ABOVE);
const lightWhileMoving = () => state().shown > MOVING_ABOVE;

let moving = false, settleTimer: number | null = null, densityFrame: number | null = null;
/** The dots drawn individually now (null: all shown samples). */
let drawn: number[] | null = null;

function scheduleDensity() {
  if (densityFrame != null) return;
  densityFrame = requestAnimationFrame(() => { densityFrame = null; drawDensity(); });
}

const scratch = newScratch(1);
let densityContext: CanvasRenderingContext2D | null = null;
/** Time spent drawing the density layer, frame by frame (read by the frame-time bench). */
const densityTimes: number[] = [];

/** Draws the density layer of the shown samples for the current view (hidden when the map is not dense). */
function drawDensity() {
  if (!current || !lod || !(dense() || (moving && lightWhileMoving()))) { densityCanvas.hidden = true; return; }
  const view = screenAffine();
  if (!view) return;
  const started = performance.now();
  const s = state();
  // Coarser cells while the map moves: the binning and the scaling both get cheaper.
  const w = wrap.clientWidth, h = wrap.clientHeight, cell = moving ? 3 : 2;
  const img = densityImage(s.x, s.y, s.mask, current.colouring.codes, current.palette, w, h, view, cell, scratch, moving ? lod.moving ?? undefined : undefined);
  // The canvas holds one pixel per cell and the page scales it to the map's size: no scaling in script, and a small
  // layer for the compositor (software WebGL makes every full-size layer costly).
  if (densityCanvas.width !== img.width || densityCanvas.height !== img.height) { densityCanvas.width = img.width; densityCanvas.height = img.height; }
  densityCanvas.style.width = `${img.width * cell}px`; densityCanvas.style.height = `${img.height * cell}px`;
  densityContext ??= densityCanvas.getContext('2d', { willReadFrequently: true })!;
  densityContext.putImageData(new ImageData(img.pixels, img.width, img.height), 0, 0);
  densityCanvas.hidden = false;
  densityTimes.push(performance.now() - started);
  if (densityTimes.length > 500) densityTimes.shift();
}

/** The density layer's draw times so far (ms), for the frame-time bench. */
export const densityDrawTimes = () => [...densityTimes];

/** The dots to draw individually now: all shown ones for a small map; on a dense one, the level of detail. */
function detailIndices(budget: number): { indices: number[] | null; complete: boolean } {
  const s = state();
  if (!dense()) return { indices: s.shown < s.run.count ? maskIndices(s.mask) : null, complete: true };
  const view = screenAffine();
  if (!view || !lod) return { indices: [...s.selection], complete: false };
  const r = levelOfDetail(s.x, s.y, s.mask, lod.priority, wrap.clientWidth, wrap.clientHeight, view, budget, s.selection.slice(0, 50_000));
  return r;
}

function setLodNote(complete: boolean) {
  const s = state();
  const light = moving && lightWhileMoving();
  $('lod-note').textContent = light ? 'density while moving' : !dense() ? ''
    : complete ? 'every dot on screen drawn' : `density of ${s.shown.toLocaleString()}; a sample of dots drawn — zoom in for all`;
  // Never complete while the map moves: a settle that ends after the next move began leaves the light view.
  $('lod-note').dataset.complete = String(complete && !light);
}

/** After the map stops moving: the dots on screen (or an even sample of them) drawn individually over the density. */
async function settle() {
  settleTimer = null;
  moving = false;
  if (!lod || !current) return;
  if (!dense()) {
    // A map below the density threshold: every shown dot again, no density layer.
    densityCanvas.hidden = true;
    const s = state();
    const all = s.shown === s.run.count ? null : maskIndices(s.mask);
    if (drawn !== all || (all && drawn && drawn.length !== all.length)) {
      drawn = all;
      if (all === null) await scatterplot.unfilter({ preventEvent: true });
      else await scatterplot.filter(all, { preventEvent: true });
      reselect();
    }
    setLodNote(true);
    return;
  }
  const { indices, complete } = detailIndices(REST_BUDGET);
  drawn = indices;
  await scatterplot.filter(indices ?? [], { preventEvent: true });
  reselect();
  drawDensity();
  setLodNote(complete);
}

/** Whether a button is held on the map (a drag in progress: the dots are not redrawn in detail until it ends). */
let pressed = false;
wrap.addEventListener('pointerdown', () => { pressed = true; }, true);
window.addEventListener('pointerup', () => { if (pressed) { pressed = false; if (moving) settleSoon(); } }, true);

function settleSoon() {
  if (settleTimer != null) clearTimeout(settleTimer);
  settleTimer = window.setTimeout(() => { if (pressed) settleTimer = null; else void settle(); }, 180);
}

const viewListeners: (() => void)[] = [];
/** Runs after the camera moves (pan, zoom, zoom to a selection). */
export const onViewChange = (f: () => void) => viewListeners.push(f);

scatterplot.subscribe('view', () => {
  viewListeners.forEach((f) => f());
  if (!current || !lod || !lightWhileMoving()) return;
  if (!moving) {
    // Moving: only a few dots (an even sample of those drawn, and the selection), the density under them.
    moving = true;
    const s = state(), priority = lod.priority;
    const n = drawn ? drawn.length : s.shown, share = MOVING_BUDGET / Math.max(1, n);
    const few: number[] = [];
    if (drawn) { for (const i of drawn) if (priority[i] < share) few.push(i); }
    else for (let i = 0; i < s.run.count; i++) if (s.mask[i] && priority[i] < share) few.push(i);
    const keep = s.selection.slice(0, 5000);
    void scatterplot.filter([...new Set([...few, ...keep])], { preventEvent: true });
    setLodNote(false);
  }
  scheduleDensity();
  settleSoon();
});

/** Puts the selection back on the map after the drawn dots changed (filtering drops what it leaves out). */
function reselect() {
  const s = state();
  // A copy: regl-scatterplot keeps the array and cuts from it the dots it does not draw.
  if (s.selection.length) scatterplot.select([...s.selection], { preventEvent: true });
}

/** Draws the map with the current encodings; `animate` moves the dots from where they were (checkpoint change). */
export async function draw(animate = false): Promise<Encoding> {
  const s = state();
  const colorField = field(s.colorBy);
  const colors = await column(s.colorBy);
  const scale: Scale = s.colorScale === 'auto' ? chooseScale(colors, colorField) : s.colorScale;
  const c = colouring(colors, colorField, scale);
  current = { colouring: c, palette: rgbBytes(c.palette) };
  let w: Float32Array = new Float32Array(s.run.count).fill(0.3);
  if (s.sizeBy !== 'none') {
    const sizes = colouring(await column(s.sizeBy), field(s.sizeBy), 'linear');
    // Square root: heavy-tailed fields such as the loss still spread over the sizes; missing values get the smallest.
    const steps = sizes.kind === 'continuous' ? 64 : Math.max(1, sizes.palette.length - 2);
    w = sizes.codes.map((k) => (k >= sizes.palette.length - 1 ? 0 : Math.sqrt(k / steps)));
  }
  scatterplot.set({
    colorBy: 'valueA', pointColor: c.palette,
    sizeBy: 'valueB', pointSize: s.sizeBy === 'none' ? baseSize() : Array.from({ length: 24 }, (_, i) => 2.5 + i * 0.35),
  });
  prepareLevelOfDetail();
  await refilter(false);
  // A dense map starts with an even sample of its dots (the density layer draws the rest), not all of them.
  const big = dense();
  const initial = big ? detailIndices(REST_BUDGET) : { indices: s.shown < s.run.count ? maskIndices(s.mask) : null, complete: true };
  drawn = initial.indices;
  await scatterplot.draw({ x: s.x, y: s.y, valueA: c.codes, valueB: w }, {
    zDataType: 'categorical', wDataType: 'continuous',
    transition: animate, transitionDuration: 700, filter: initial.indices ?? undefined,
    preventFilterReset: false,
  });
  reselect();
  if (big) { await settle(); } else { densityCanvas.hidden = true; setLodNote(true); }
  return c;
}

/**
 * Recomputes which samples pass the filters and which are shown (filters and legend toggles), updates the counts and,
 * with `apply`, the map.
 */
export async function refilter(apply: boolean) {
  const s = state();
  const columnOf = (name: string) => s.columns.get(name)!;
  s.filterMask = applyFilters(s.run.count, s.filters, columnOf).mask;
  const filters: Filter[] = [...s.filters];
  const f = field(s.colorBy);
  if (s.hidden.size && (f.kind === 'categorical' || current?.colouring.kind === 'discrete')) {
    // Legend toggles: hidden categories, or hidden steps of a count field (the step's value).
    const codes = f.kind === 'categorical' ? f.categories!.map((_, k) => k) : current!.colouring.steps;
    filters.push({ kind: 'categories', field: f.name, allowed: new Set(codes.filter((_, k) => !s.hidden.has(k))) });
  }
  const { mask, shown } = applyFilters(s.run.count, filters, columnOf);
  s.mask = mask; s.shown = shown;
  $('counts').textContent = `showing ${shown.toLocaleString()} of ${s.run.count.toLocaleString()}`;
  if (apply) {
    if (dense() || drawn !== null || shown < s.run.count) {
      if (dense()) { await settle(); return; }
      densityCanvas.hidden = true;
      setLodNote(true);
      drawn = shown === s.run.count ? null : maskIndices(mask);
      if (drawn === null) await scatterplot.unfilter({ preventEvent: true });
      else await scatterplot.filter(drawn, { preventEvent: true });
      reselect();
    }
  }
}

/** The camera: the map point at the centre of the view and the zoom distance (1: the whole map). */
export function camera(): { x: number; y: number; distance: number } {
  const c = scatterplot.get('camera') as unknown as { target: number[]; distance: number[] | number };
  const d = Array.isArray(c.distance) ? c.distance[0] : c.distance;
  return { x: c.target[0], y: c.target[1], distance: d };
}

/** Moves the camera (no animation): a restored view. */
export async function setCamera(view: { x: number; y: number; distance: number }) {
  await scatterplot.zoomToLocation([view.x, view.y], view.distance, { transition: false });
}

/** Zooms the map to fit these samples (one sample: centred, zoomed in to at least a fifth of the map's height). */
export async function zoomTo(points: number[]) {
  const s = state();
  const valid = points.filter((i) => i >= 0 && i < s.run.count);
  if (!valid.length) return;
  if (valid.length === 1) {
    const i = valid[0];
    await scatterplot.zoomToLocation([s.x[i], s.y[i]], Math.min(camera().distance, 0.2), { transition: true, transitionDuration: 450 });
    return;
  }
  // The box of the group's bulk: for more than 50 samples, from the 2nd to the 98th percentile on each axis, so a few
  // stragglers elsewhere on the map do not zoom it out to the whole.
  const xs = Float32Array.from(valid, (i) => s.x[i]).sort(), ys = Float32Array.from(valid, (i) => s.y[i]).sort();
  const cut = valid.length > 50 ? Math.floor(0.02 * valid.length) : 0;
  const minX = xs[cut], maxX = xs[xs.length - 1 - cut], minY = ys[cut], maxY = ys[ys.length - 1 - cut];
  // The view shows half-height `distance` and half-width `distance` × aspect: fit both, with a sixth's padding, never
  // closer than a twentieth of the map (a tight pair stays in context).
  const aspect = wrap.clientWidth / Math.max(1, wrap.clientHeight);
  const distance = 1.35 * Math.max((maxY - minY) / 2, (maxX - minX) / 2 / Math.max(aspect, 1e-3));
  await scatterplot.zoomToLocation([(minX + maxX) / 2, (minY + maxY) / 2], Math.max(0.05, Math.min(1.2, distance)), { transition: true, transitionDuration: 450 });
}

/** The whole map in view. */
export const resetView = () => scatterplot.zoomToOrigin({ transition: true, transitionDuration: 450 });

/** The dots drawn individually now (all shown samples unless the map is dense). */
export const drawnCount = () => (drawn === null ? state().shown : drawn.length);

export type MapMode = 'panZoom' | 'lasso';

export function setMode(mode: MapMode) {
  scatterplot.set({ mouseMode: mode });
  $('mode-pan').classList.toggle('active', mode === 'panZoom');
  $('mode-lasso').classList.toggle('active', mode === 'lasso');
}
$('mode-pan').addEventListener('click', () => setMode('panZoom'));
$('mode-lasso').addEventListener('click', () => setMode('lasso'));

/** Centres the map on a sample without zooming (a gallery pick). */
export async function panTo(i: number) {
  const s = state();
  if (i < 0 || i >= s.run.count) return;
  await scatterplot.zoomToLocation([s.x[i], s.y[i]], camera().distance, { transition: true, transitionDuration: 350 });
}
