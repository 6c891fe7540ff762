// The workspace's docked panes: the side pane's tabs, the details pane beside the map and the gallery below it, each
// opened and closed here, with gutters that resize them (sizes kept for the next visit). Nothing is laid over the map:
// opening a pane shrinks the map instead.

type Sizes = { side: number; details: number; gallery: number };
const KEY = 'percept.layout';

const workspace = document.getElementById('workspace')!;
const center = document.getElementById('center')!;

function defaults(): Sizes {
  const w = window.innerWidth, h = window.innerHeight;
  return { side: Math.round(Math.min(360, Math.max(300, 0.25 * w))), details: Math.round(Math.min(460, Math.max(340, 0.28 * w))), gallery: Math.round(Math.max(170, 0.34 * (h - 80))) };
}

let sizes: Sizes = (() => {
  try { return { ...defaults(), ...(JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Sizes>) }; } catch { return defaults(); }
})();

const open = { details: false, gallery: false };

/** Pane sizes kept within the window: the map keeps at least 280 × 160 pixels. */
function clamp() {
  const w = window.innerWidth, h = window.innerHeight;
  sizes.side = Math.min(Math.max(sizes.side, 220), Math.max(220, w * 0.45));
  sizes.details = Math.min(Math.max(sizes.details, 300), Math.max(300, w - sizes.side - 300));
  sizes.gallery = Math.min(Math.max(sizes.gallery, 110), Math.max(110, h - 44 - 36 - 160));
}

/** Applies the sizes and which panes are open to the grid. */
export function applyLayout() {
  clamp();
  const style = workspace.style;
  style.setProperty('--side-width', `${sizes.side}px`);
  style.setProperty('--details-gutter', open.details ? '5px' : '0px');
  style.setProperty('--details-width', open.details ? `${sizes.details}px` : '0px');
  center.style.setProperty('--gallery-gutter', open.gallery ? '5px' : '0px');
  center.style.setProperty('--gallery-height', open.gallery ? `${sizes.gallery}px` : '0px');
  document.getElementById('details')!.hidden = !open.details;
  document.getElementById('details-gutter')!.hidden = !open.details;
  document.getElementById('gallery')!.hidden = !open.gallery;
  document.getElementById('gallery-gutter')!.hidden = !open.gallery;
}

/** Opens or closes the details pane (beside the map) or the gallery (below it). */
export function showPane(pane: 'details' | 'gallery', visible: boolean) {
  if (open[pane] === visible) return;
  open[pane] = visible;
  applyLayout();
}

export const isOpen = (pane: 'details' | 'gallery') => open[pane];

const tabListeners: ((tab: string) => void)[] = [];
let currentTab = 'insights';

/** The side pane's tab on show. */
export const activeTab = () => currentTab;
export const onTabChange = (f: (tab: string) => void) => tabListeners.push(f);

/** Shows a tab of the side pane (a hidden tab, such as Training on a run without epochs, falls back to Insights). */
const scrolled = new Map<string, number>();

export function selectTab(tab: string) {
  const button = document.querySelector<HTMLButtonElement>(`.tabbar [data-tab="${CSS.escape(tab)}"]`);
  if (!button || button.hidden) tab = 'insights';
  // Each tab keeps its own scroll position (they share one scrolling box); a tab opened first starts at its top.
  const panels = document.querySelector<HTMLElement>('.tab-panels')!;
  scrolled.set(currentTab, panels.scrollTop);
  currentTab = tab;
  document.querySelectorAll<HTMLButtonElement>('.tabbar [data-tab]').forEach((b) => {
    const on = b.dataset.tab === tab;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  });
  document.querySelectorAll<HTMLElement>('.tab-panel').forEach((p) => { p.hidden = p.dataset.panel !== tab; });
  panels.scrollTop = scrolled.get(tab) ?? 0;
  tabListeners.forEach((f) => f(tab));
}

function wireTabs() {
  const buttons = () => [...document.querySelectorAll<HTMLButtonElement>('.tabbar [data-tab]')].filter((b) => !b.hidden);
  document.querySelectorAll<HTMLButtonElement>('.tabbar [data-tab]').forEach((b) => {
    b.addEventListener('click', () => selectTab(b.dataset.tab!));
    b.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const list = buttons(), k = list.indexOf(b);
      const next = list[(k + (e.key === 'ArrowRight' ? 1 : list.length - 1)) % list.length];
      selectTab(next.dataset.tab!);
      next.focus();
    });
  });
}

function wireGutters() {
  document.querySelectorAll<HTMLElement>('.gutter[data-resize]').forEach((g) => {
    const which = g.dataset.resize as keyof Sizes;
    g.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      g.setPointerCapture(e.pointerId);
      g.classList.add('dragging');
      const start = { x: e.clientX, y: e.clientY, size: sizes[which] };
      const move = (m: PointerEvent) => {
        if (which === 'side') sizes.side = start.size + (m.clientX - start.x);
        else if (which === 'details') sizes.details = start.size - (m.clientX - start.x);
        else sizes.gallery = start.size - (m.clientY - start.y);
        applyLayout();
      };
      const up = () => {
        g.classList.remove('dragging');
        g.removeEventListener('pointermove', move);
        g.removeEventListener('pointerup', up);
        try { localStorage.setItem(KEY, JSON.stringify(sizes)); } catch { /* private mode: sizes last this visit */ }
      };
      g.addEventListener('pointermove', move);
      g.addEventListener('pointerup', up);
    });
  });
}

wireTabs();
wireGutters();
window.addEventListener('resize', applyLayout);
applyLayout();
selectTab('insights');
