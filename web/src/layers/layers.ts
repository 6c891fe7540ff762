// The map of any layer: a picker in the map's toolbar shows the map of one recorded layer's pooled activations instead
// of the run's map (made by the server on first request, with its progress shown, then kept in the run's cache; turned
// onto the run's map so the same regions face the same way), the dots moving to it; and, in the Charts tab, how well
// each layer separates the classes (the label agreement of each sample's nearest neighbours), a bar's click opening
// that layer's map. The address keeps the layer (`layer=`).
import { isReport, source, type LayerSeparation } from '../data';
import { normalizeMap } from '../map/scales';
import { state } from '../state';
import { $, el, message } from '../ui';

const picker = $<HTMLSelectElement>('layer-map');
const progress = $('layer-progress');

let hooks: { redraw: (animate: boolean) => Promise<void>; fail: (e: unknown) => void } | null = null;
/** The layer on show ('' for the run's own map), and requests begun (a later pick overtakes an earlier one). */
let shown = '';
let requests = 0;
/** The run's own map, kept to go back to it. */
let runMap: { run: string; x: Float32Array; y: Float32Array } | null = null;

/** The layer on show, or '' for the run's map. */
export const shownLayer = () => shown;

/** Fills the picker with the run's layers (hidden for a report, or a run that records none). */
export async function renderLayerPicker() {
  const s = state();
  shown = '';
  runMap = { run: s.run.id, x: s.x, y: s.y };
  progress.hidden = true;
  const layers = isReport ? [] : await source.layers(s.run.id).catch(() => []);
  if (state() !== s) return;
  $('layer-map-box').hidden = layers.length === 0;
  picker.replaceChildren(el('option', { value: '', textContent: 'all layers (the run\'s map)' }),
    ...layers.map((l) => el('option', { value: l.name, textContent: `${l.name} (${l.op}, ${l.width})${l.map ? '' : ' …'}` })));
  picker.value = '';
  const asked = new URLSearchParams(location.search).get('layer');
  if (asked && layers.some((l) => l.name === asked)) await showLayer(asked);
  else setAddress('');
}

/** Shows the map of `layer` ('' for the run's own), asking the server until it is made; the dots move there. */
export async function showLayer(layer: string) {
  const s = state();
  const token = ++requests;
  picker.value = layer;
  if (!layer) {
    if (runMap && runMap.run === s.run.id) { s.x = runMap.x; s.y = runMap.y; }
    shown = '';
    progress.hidden = true;
    setAddress('');
    await hooks?.redraw(true);
    markBars();
    return;
  }
  const bar = progress.querySelector('progress')!, text = progress.querySelector('span')!;
  progress.hidden = false;
  bar.value = 0; text.textContent = `${layer}: starting`;
  for (;;) {
    const answer = await source.layerMap(s.run.id, layer).catch((e: unknown) => ({ error: message(e) }));
    if (token !== requests || state() !== s) return;
    if ('error' in answer) { text.textContent = `${layer}: ${answer.error}`; bar.value = 0; picker.value = shown; return; }
    if ('map' in answer) {
      const { x, y } = normalizeMap(answer.map.values, answer.map.columns);
      s.x = x; s.y = y;
      shown = layer;
      progress.hidden = true;
      setAddress(layer);
      const option = [...picker.options].find((o) => o.value === layer);
      if (option) option.textContent = option.textContent!.replace(/ …$/, '');
      await hooks?.redraw(true);
      markBars();
      return;
    }
    bar.value = answer.job.fraction;
    text.textContent = `${layer}: ${answer.job.stage} ${Math.round(100 * answer.job.fraction)}% · ${answer.job.seconds.toFixed(1)} s`;
    await new Promise((r) => setTimeout(r, 400));
  }
}

function setAddress(layer: string) {
  const q = new URLSearchParams(location.search);
  if (layer) q.set('layer', layer); else q.delete('layer');
  const next = q.toString();
  if (next !== location.search.slice(1)) history.replaceState(null, '', `${location.pathname}?${next}${location.hash}`);
}

/** Marks the bar of the layer on show. */
function markBars() {
  document.querySelectorAll<SVGRectElement>('#layer-chart .bar').forEach((b) => b.classList.toggle('on', b.dataset.layer === shown));
}

/** The separation per layer of the run on screen, fetched once per run. */
let separation: { run: string; values: Promise<LayerSeparation[]> } | null = null;

/** Draws the Charts tab's layer chart: one bar per layer (and the perception vectors), chance as a dashed line. */
export async function renderLayerChart() {
  const s = state();
  const box = $('layer-chart'), title = $('layer-chart-title');
  if (isReport || !s.run.hasLabels) { box.hidden = title.hidden = true; return; }
  box.hidden = title.hidden = false;
  if (!separation || separation.run !== s.run.id) {
    box.replaceChildren(el('p', { className: 'note', textContent: 'Measuring each layer…' }));
    separation = { run: s.run.id, values: source.layerSeparation(s.run.id) };
  }
  let rows: LayerSeparation[];
  try { rows = await separation.values; } catch (e) { box.replaceChildren(el('p', { className: 'error', textContent: message(e) })); separation = null; return; }
  if (state() !== s) return;
  if (!rows.length) { box.hidden = title.hidden = true; return; }
  const ns = 'http://www.w3.org/2000/svg';
  const svg = (tag: string, attrs: Record<string, string | number>) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const width = Math.max(220, box.clientWidth || 280), rowH = 18, left = Math.min(120, width * 0.4), right = 40, top = 4;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${top + rows.length * rowH + 16}`, role: 'img', 'aria-label': 'Label agreement of neighbours per layer' });
  const x = (v: number) => left + (width - left - right) * Math.max(0, Math.min(1, v));
  rows.forEach((r, k) => {
    const y = top + k * rowH;
    const isLayer = k < rows.length - 1;
    const name = svg('text', { x: left - 6, y: y + 12, 'text-anchor': 'end' });
    name.textContent = r.layer.length > 18 ? `${r.layer.slice(0, 17)}…` : r.layer;
    // The last row is the perception vectors, whose map is the run's own ('').
    const layer = isLayer ? r.layer : '';
    const bar = svg('rect', { x: left, y: y + 3, width: Math.max(1, x(r.agreement) - left), height: rowH - 6, class: `bar${layer === shown ? ' on' : ''}` });
    bar.dataset.layer = layer;
    const tip = svg('title', {});
    tip.textContent = `${r.layer}: ${(100 * r.agreement).toFixed(1)}% of each sample's ${r.k} nearest neighbours share its label (chance ${(100 * r.chance).toFixed(1)}%; ${r.samples.toLocaleString()} samples)` + (isLayer ? ' — click for its map' : '');
    bar.append(tip);
    bar.addEventListener('click', () => void showLayer(layer).catch(hooks?.fail));
    const value = svg('text', { x: x(r.agreement) + 4, y: y + 12 });
    value.textContent = `${(100 * r.agreement).toFixed(0)}%`;
    chart.append(name, bar, value);
  });
  const chance = rows[0].chance, bottom = top + rows.length * rowH;
  chart.append(svg('line', { x1: x(chance), x2: x(chance), y1: top, y2: bottom, class: 'chance' }));
  const label = svg('text', { x: x(chance), y: bottom + 12, 'text-anchor': 'middle' });
  label.textContent = 'chance';
  chart.append(label);
  box.replaceChildren(chart, el('p', { className: 'note', textContent: `Share of each sample's ${rows[0].k} nearest neighbours (in one layer's activations) that carry its label; click a layer for its map.` }));
}

/** Wires the picker; `redraw` draws the map again (animated: the dots move to the new positions). */
export function wireLayers(redraw: (animate: boolean) => Promise<void>, fail: (e: unknown) => void) {
  hooks = { redraw, fail };
  picker.addEventListener('change', () => void showLayer(picker.value).catch(fail));
}
