// The details pane of one sample, docked beside the map: its picture, ground truth against prediction, loss, top
// classes, its history over a training's epochs and every field.
import { rel, source, withQuery, type SampleDetails } from '../data';
import { state } from '../state';
import { tokensView } from '../text/text';
import { showPane } from '../layout/layout';
import { $, el, formatNumber, icon, message } from '../ui';

/** Runs when the panel shows another sample (the analysis and Fetch Similar panels clear their results). */
const listeners: ((sample: number | null) => void)[] = [];
export const onSampleChange = (f: (sample: number | null) => void) => listeners.push(f);

export async function showDetails(i: number) {
  const s = state();
  s.current = i;
  const panel = $('details');
  showPane('details', true);
  panel.dataset.sample = String(i);
  listeners.forEach((f) => f(i));
  const head = $('details-head'), body = $('details-body');
  head.replaceChildren(el('p', { textContent: `Loading sample ${i}…` }));
  body.replaceChildren();
  let d: SampleDetails;
  try { d = await source.sample(s.run.id, i); } catch (e) { head.replaceChildren(el('p', { className: 'error', textContent: message(e) })); return; }
  if (s.current !== i) return;
  const v = d.values;
  const facts = el('div');
  facts.append(el('div', {}, el('strong', { textContent: `Sample ${i}` }), ` (id ${d.id})`));
  if (v.label != null) facts.append(el('div', { textContent: `Ground truth: ${v.label_name ?? v.label}` }));
  if (v.prediction != null) facts.append(el('div', { textContent: `Prediction: ${v.prediction_name ?? v.prediction}` }));
  if (v.correct != null) facts.append(el('div', { className: 'verdict ' + (v.correct ? 'correct' : 'wrong') }, icon(v.correct ? 'check' : 'cross'), v.correct ? 'correct' : 'wrong'));
  if (v.loss != null) facts.append(el('div', { textContent: `Loss: ${formatNumber(Number(v.loss))}` }));
  const bars = el('div', { className: 'bars' });
  bars.dataset.testid = 'top-k';
  for (const t of d.top) {
    const fill = el('div', { className: 'fill' });
    fill.style.width = `${(100 * t.probability).toFixed(1)}%`;
    bars.append(el('div', { className: 'bar' }, el('span', { textContent: t.name }), el('div', {}, fill), el('span', { textContent: `${(100 * t.probability).toFixed(1)}%` })));
  }
  facts.append(bars);
  if (d.history && d.history.loss.length > 1) {
    // Over the epochs of its training: the prediction (a tick when right, a cross when wrong) and the loss at each.
    const h = d.history;
    const list = el('div', { className: 'history' });
    list.dataset.testid = 'history';
    h.loss.forEach((l, e) => list.append(el('span', { className: 'verdict ' + (h.correct[e] === false ? 'wrong' : 'right') },
      `${e + 1}: ${h.prediction[e] ?? '—'} `, ...(h.correct[e] == null ? [] : [icon(h.correct[e] ? 'check' : 'cross', h.correct[e] ? 'right' : 'wrong')]),
      l != null ? ` ${formatNumber(l)}` : '')));
    facts.append(el('div', { className: 'legend-caption', textContent: 'Over the epochs (prediction, loss):' }), list);
  }
  head.replaceChildren(d.tokens
    ? el('div', { className: 'sample-head text' }, facts, tokensView(d.tokens))
    : el('div', { className: 'sample-head' }, el('img', { src: withQuery(rel(d.image), 'size=128'), alt: `sample ${i}` }), facts));
  const table = el('table', { className: 'meta' });
  for (const [k, val] of Object.entries(v)) table.append(el('tr', {}, el('td', { textContent: k }), el('td', { textContent: val == null ? '—' : typeof val === 'number' ? String(Number.isInteger(val) ? val : formatNumber(val)) : String(val) })));
  body.replaceChildren(el('details', {}, el('summary', { textContent: 'All fields' }), table));
}

/** Hides the panel; `onClose` runs after (the selection is cleared with it). */
export function wireDetails(onClose: () => void) {
  $('close-details').addEventListener('click', () => {
    showPane('details', false);
    state().current = null;
    listeners.forEach((f) => f(null));
    onClose();
  });
}
