// Sample Analysis: heat maps of the open sample for every class and for the loss, with any method of the server's
// registry, a colour bar, and each map on its own scale or all on one.
import { rel, source, withQuery, type Explanation, type MethodInfo } from '../data';
import { onSampleChange } from '../details/details';
import { state } from '../state';
import { tokensView } from '../text/text';
import { $, el, formatNumber, message } from '../ui';

const selectedMethod = (): MethodInfo | undefined => state().run.methods.find((m) => m.name === $<HTMLSelectElement>('method').value);

/** Fills the method and layer pickers from the run's registry (no method is named here). */
export function renderMethods() {
  const s = state();
  const method = $<HTMLSelectElement>('method');
  method.replaceChildren(...s.run.methods.map((m) => el('option', { value: m.name, textContent: m.label, title: m.description })));
  const layer = $<HTMLSelectElement>('layer');
  layer.replaceChildren(...s.run.camLayers.map((l) => el('option', { value: l, textContent: l })));
  layer.value = s.run.camLayers[s.run.camLayers.length - 1] ?? '';
  layer.hidden = !selectedMethod()?.needsLayer;
  $('analysis').hidden = !source.canExplain || s.run.methods.length === 0;
}

function clear() {
  $('tabs').replaceChildren(); $('heatmap').replaceChildren(); $('heatmap-scale').replaceChildren(); $('opacity-box').hidden = true;
}

/** What a target's map shows: the loss's error, a class score, or (a model without class scores) the likeness to a class's mean. */
function caption(t: Explanation['targets'][number], parts: 'regions' | 'words') {
  if (t.kind === 'loss') return `Loss Analysis: ${parts} that drive the error`;
  if (t.kind === 'class-mean') return `Like ${t.name}: ${parts} that make it resemble the class's mean`;
  return `Class ${t.name}: ${parts} that support it`;
}

/** The colour bar of an explanation: blue (against) through transparent to warm (for), labelled with the values drawn at each end. */
function colourBar(ex: Explanation, k: number) {
  const largest = ex.scale === 'shared' ? ex.sharedLargest : ex.targets[k].largest;
  const bar = el('div', { className: 'colour-bar' });
  bar.style.background = `linear-gradient(to right, ${ex.colourBar.join(', ')}), repeating-conic-gradient(#ddd 0% 25%, #fff 0% 50%) 0 0 / 8px 8px`;
  const labels = el('div', { className: 'ramp-labels' },
    el('span', { textContent: `−${formatNumber(largest)}` }), el('span', { textContent: '0' }), el('span', { textContent: `+${formatNumber(largest)}` }));
  const note = el('div', { className: 'note', textContent: ex.scale === 'shared'
    ? 'One scale for every tab of this sample: the strongest value over all its maps is drawn at full colour.'
    : 'Each map is scaled to its own strongest value: compare where, not how much, across tabs.' });
  note.dataset.testid = 'scale-note';
  const box = el('div', { className: 'colour-scale' }, el('div', { className: 'legend-caption', textContent: 'blue: works against the target · warm: supports it' }), bar, labels, note);
  box.dataset.testid = 'colour-bar';
  return box;
}

async function analyze() {
  const s = state();
  if (s.current == null) return;
  const sample = s.current;
  const method = $<HTMLSelectElement>('method').value;
  const layer = selectedMethod()?.needsLayer ? $<HTMLSelectElement>('layer').value : null;
  const scale = $<HTMLInputElement>('shared-scale').checked ? 'shared' : 'own';
  const tabs = $('tabs'), view = $('heatmap'), scaleBox = $('heatmap-scale');
  clear();
  tabs.replaceChildren(el('span', { textContent: 'Computing…' }));
  try {
    const ex = await source.explain(s.run.id, sample, method, layer, scale);
    // Text: the sample's words, which the scores follow one for one.
    const words = ex.targets.some((t) => t.values) ? (await source.sample(s.run.id, sample)).tokens ?? [] : [];
    if (s.current !== sample) return;
    const opacity = $<HTMLInputElement>('opacity');
    const show = (k: number) => {
      const t = ex.targets[k];
      if (t.values) {
        // Text: the sample's words, each shaded by its score for this target.
        const largest = ex.scale === 'shared' ? ex.sharedLargest : t.largest;
        view.replaceChildren(tokensView(words, t.values, largest, ex.colourBar),
          el('div', { textContent: `${caption(t, 'words')} · ${t.kind === 'class-mean' ? 'cosine' : 'score'} ${formatNumber(t.score)}` }),
          ...(t.note ? [el('div', { className: 'note ig-note', textContent: t.note })] : []));
        scaleBox.replaceChildren(colourBar(ex, k));
        [...tabs.children].forEach((b, j) => b.classList.toggle('active', j === k));
        return;
      }
      const overlay = el('img', { className: 'overlay', src: withQuery(rel(t.image), 'size=256'), alt: `${t.name} heat map` });
      overlay.style.opacity = opacity.value;
      view.replaceChildren(el('div', { className: 'stack' }, el('img', { src: withQuery(rel(ex.image), 'size=256'), alt: 'input' }), overlay),
        el('div', { textContent: `${caption(t, 'regions')} · ${t.kind === 'class-mean' ? 'cosine' : 'score'} ${formatNumber(t.score)}${ex.layer ? ` · layer ${ex.layer}` : ''}` }),
        ...(t.note ? [el('div', { className: 'note ig-note', textContent: t.note })] : []));
      scaleBox.replaceChildren(colourBar(ex, k));
      [...tabs.children].forEach((b, j) => b.classList.toggle('active', j === k));
    };
    tabs.replaceChildren(...ex.targets.map((t, k) => {
      const b = el('button', { type: 'button', textContent: t.kind === 'loss' ? 'Loss Analysis' : t.name });
      b.dataset.testid = 'tab';
      b.addEventListener('click', () => show(k));
      return b;
    }));
    if (ex.targets.some((t) => t.kind === 'class-mean')) {
      // A model without class scores: the class whose mean the sample lies nearest opens first.
      show(ex.targets.reduce((best, t, k) => (t.score > ex.targets[best].score ? k : best), 0));
    } else {
      const pred = Number(s.columns.get('prediction')?.[sample] ?? 0);
      show(Math.min(Number.isNaN(pred) ? 0 : pred, ex.targets.length - 1));
    }
    $('opacity-box').hidden = ex.targets.some((t) => t.values);
    opacity.oninput = () => view.querySelectorAll<HTMLImageElement>('img.overlay').forEach((img) => (img.style.opacity = opacity.value));
  } catch (e) {
    tabs.replaceChildren(el('span', { className: 'error', textContent: message(e) }));
  }
}

export function wireAnalysis() {
  $('method').addEventListener('change', () => { $('layer').hidden = !selectedMethod()?.needsLayer; });
  $('analyze').addEventListener('click', () => void analyze());
  $('shared-scale').addEventListener('change', () => { if ($('tabs').children.length && !$('tabs').textContent?.startsWith('Computing')) void analyze(); });
  onSampleChange(clear);
}
