/**
 * The "See the embeddings" panel: folded until opened (the page stays a few screens tall; the choice is
 * remembered in this browser), then one view at a time in tabs (map, gallery report, near-duplicates).
 * WAI-ARIA tabs: click or arrow keys, the chosen tab alone in the Tab order.
 */

const OPEN_KEY = 'shitu-web.insights-open';

/** Opens the panel if it was open last time, and remembers each change. */
export function rememberOpen(panel: HTMLDetailsElement): void {
  panel.open = localStorage.getItem(OPEN_KEY) === 'true';
  panel.addEventListener('toggle', () => localStorage.setItem(OPEN_KEY, String(panel.open)));
}

export function wireTabs(tablist: HTMLElement): void {
  const tabs = [...tablist.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const choose = (tab: HTMLButtonElement, focus: boolean) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(t.getAttribute('aria-controls')!);
      if (panel) panel.hidden = !on;
    }
    if (focus) tab.focus();
  };
  tablist.addEventListener('click', (e) => {
    const tab = (e.target as HTMLElement).closest<HTMLButtonElement>('[role="tab"]');
    if (tab) choose(tab, false);
  });
  tablist.addEventListener('keydown', (e) => {
    const at = tabs.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0 && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : (at + step + tabs.length) % tabs.length;
    choose(tabs[next]!, true);
  });
  const selected = tabs.find((t) => t.getAttribute('aria-selected') === 'true') ?? tabs[0];
  if (selected) choose(selected, false);
}
