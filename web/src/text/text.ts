// Text samples (models that take token ids): a sample's words, each shaded by its score with the heat maps' colours.
import { el } from '../ui';

/**
 * The words of a sample as a block of spans. With scores (one per word) each word's background is the colour of the
 * heat maps' colour bar at score / largest (blue: works against the target, warm: supports it), and its title tells the score.
 */
export function tokensView(tokens: string[], scores?: number[] | null, largest?: number, colourBar?: string[]) {
  const box = el('div', { className: 'tokens' });
  box.dataset.testid = 'tokens';
  const scale = largest && largest > 0 ? largest : Math.max(1e-12, ...(scores ?? []).map(Math.abs));
  tokens.forEach((t, i) => {
    const span = el('span', { className: 'token', textContent: t });
    const v = scores?.[i];
    if (v != null && colourBar && colourBar.length > 1) {
      const a = Math.max(-1, Math.min(1, v / scale));
      span.style.background = colourBar[Math.round(((a + 1) / 2) * (colourBar.length - 1))];
      span.title = `${t}: ${v.toPrecision(3)}`;
      span.dataset.score = String(v);
    }
    box.append(span, ' ');
  });
  return box;
}

/** The first words of a sample, for a tooltip or a card. */
export const snippet = (tokens: string[], words = 14) => tokens.slice(0, words).join(' ') + (tokens.length > words ? ' …' : '');
