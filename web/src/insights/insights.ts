// The Insights panel: what Percept found in the run's perception vectors (docs/insights.md), most important first. A
// click on a card selects its samples on the map and shows them in the gallery.
import { source, type InsightsDocument } from '../data';
import { showGallery } from '../gallery/gallery';
import { select } from '../selection/selection';
import { state } from '../state';
import { $, el, message } from '../ui';

const kindLabel: Record<string, string> = {
  'suspected-mislabel': 'mislabel?', ambiguous: 'ambiguous', 'rare-variant': 'rare variant', 'close-classes': 'close classes',
  'near-duplicates': 'duplicates', leakage: 'leakage', 'weak-cluster': 'weak cluster', outliers: 'outliers',
};

/** The samples a card is about: its samples, or both members of each pair, without repeats. */
export const cardSamples = (card: InsightsDocument['insights'][number]) =>
  [...new Set([...card.samples.map((s) => s.index), ...(card.pairs ?? []).flatMap((p) => p.map((s) => s.index))])];

export async function renderInsights() {
  const s = state();
  const list = $('insights');
  list.replaceChildren(el('p', { className: 'note', textContent: 'Loading…' }));
  let doc: InsightsDocument | null;
  try { doc = await source.insights(s.run.id); } catch (e) { list.replaceChildren(el('p', { className: 'error', textContent: message(e) })); return; }
  if (state() !== s) return;
  if (!doc) {
    list.replaceChildren(el('p', { className: 'note', textContent: `No insights in this run yet: percept insights on the run folder computes them.` }));
    return;
  }
  const items = doc.insights.map((card) => {
    const samples = cardSamples(card);
    const item = el('button', { type: 'button', className: `insight ${card.severity}`, title: card.action },
      el('span', { className: 'insight-kind', textContent: kindLabel[card.kind] ?? card.kind }),
      el('span', { className: 'insight-title', textContent: card.title }));
    item.dataset.testid = 'insight';
    item.dataset.kind = card.kind;
    item.disabled = samples.length === 0;
    item.addEventListener('click', () => {
      list.querySelectorAll('.insight.active').forEach((x) => x.classList.remove('active'));
      item.classList.add('active');
      select(samples);
      showGallery(card.title, samples);
    });
    return item;
  });
  const notes = doc.notes.map((n) => el('p', { className: 'note', textContent: n }));
  const proximity = doc.class_proximity && Number.isFinite(doc.class_proximity.spearman)
    ? [el('p', { className: 'note', textContent: `Class proximity predicts confusion: Spearman ${doc.class_proximity.spearman.toFixed(2)} over pairs of classes.` })] : [];
  list.replaceChildren(...(items.length ? items : [el('p', { className: 'note', textContent: 'Nothing stands out.' })]), ...proximity, ...notes);
}
