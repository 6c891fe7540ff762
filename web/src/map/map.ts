// The population map: regl-scatterplot (WebGL) drawing every sample as a dot, coloured and sized by fields, with the
// shown samples following the filters, hover previews, click and lasso selection.
import createScatterplot from 'regl-scatterplot';
import { rel, source } from '../data';
import { applyFilters, maskIndices, type Filter } from '../filters/filters';
import { column, field, state, value, valueText } from '../state';
import { snippet } from '../text/text';
import { $, el, formatNumber } from '../ui';
import { categoricalColors, chooseScale, encode, ramp, type Scale, type Tick } from './scales';

const canvas = $<HTMLCanvasElement>('map');
const wrap = $('map-wrap');

export const scatterplot = createScatterplot({
  canvas,
  width: wrap.clientWidth,
  height: wrap.clientHeight,
  pointSize: 4,
  opacityInactiveScale: 0.25,
  pointColorActive: '#111827',
  pointOutlineWidth: 2,
  lassoColor: '#1d2330',
  lassoOnLongPress: false,
  backgroundColor: '#ffffff',
});
new ResizeObserver(() => scatterplot.set({ width: wrap.clientWidth, height: wrap.clientHeight })).observe(wrap);

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
const baseSize = () => (state().run.count > 200_000 ? 1.5 : state().run.count > 50_000 ? 2.5 : 4);

/** What the legend needs to show the colour encoding. */
export type Encoding = { min: number; max: number; missing: number; scale: Scale; ticks: Tick[] };

/** Draws the map with the current encodings; `animate` moves the dots from where they were (checkpoint change). */
export async function draw(animate = false): Promise<Encoding> {
  const s = state();
  const colorField = field(s.colorBy);
  const colors = await column(s.colorBy);
  const scale = colorField.kind === 'numeric' ? (s.colorScale === 'auto' ? chooseScale(colors, colorField) : s.colorScale) : 'linear';
  const c = encode(colors, colorField, scale);
  let w: Float32Array = new Float32Array(s.run.count).fill(0.3);
  if (s.sizeBy !== 'none') {
    // Square root: heavy-tailed fields such as the loss still spread over the sizes.
    w = encode(await column(s.sizeBy), field(s.sizeBy)).data.map(Math.sqrt);
  }
  const categorical = colorField.kind === 'categorical';
  const palette = categorical ? [...categoricalColors(colorField.categories!.length), '#c8ccd4'] : ramp(64);
  scatterplot.set({
    colorBy: 'valueA', pointColor: palette,
    sizeBy: 'valueB', pointSize: s.sizeBy === 'none' ? baseSize() : Array.from({ length: 24 }, (_, i) => 2.5 + i * 0.35),
  });
  await refilter(false);
  await scatterplot.draw({ x: s.x, y: s.y, valueA: c.data, valueB: w }, {
    zDataType: categorical ? 'categorical' : 'continuous', wDataType: 'continuous',
    transition: animate, transitionDuration: 700, filter: s.shown < s.run.count ? maskIndices(s.mask) : undefined,
    preventFilterReset: false,
  });
  if (s.selection.length) scatterplot.select(s.selection, { preventEvent: true });
  return { min: c.min, max: c.max, missing: c.missing, scale, ticks: c.ticks };
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
  if (f.kind === 'categorical' && s.hidden.size) {
    filters.push({ kind: 'categories', field: f.name, allowed: new Set(f.categories!.map((_, k) => k).filter((k) => !s.hidden.has(k))) });
  }
  const { mask, shown } = applyFilters(s.run.count, filters, columnOf);
  s.mask = mask; s.shown = shown;
  $('counts').textContent = `showing ${shown.toLocaleString()} of ${s.run.count.toLocaleString()}`;
  if (apply) {
    if (shown === s.run.count) await scatterplot.unfilter({ preventEvent: true });
    else await scatterplot.filter(maskIndices(mask), { preventEvent: true });
  }
}

export type MapMode = 'panZoom' | 'lasso';

export function setMode(mode: MapMode) {
  scatterplot.set({ mouseMode: mode });
  $('mode-pan').classList.toggle('active', mode === 'panZoom');
  $('mode-lasso').classList.toggle('active', mode === 'lasso');
}
$('mode-pan').addEventListener('click', () => setMode('panZoom'));
$('mode-lasso').addEventListener('click', () => setMode('lasso'));
