/**
 * The element's styles: the page's card, vector and matrix rules (one source), themed through CSS custom
 * properties set on the host. Constructable stylesheets, so a strict CSP needs no 'unsafe-inline'.
 */
import pageCss from '../ui/page.css?inline';

const ELEMENT_CSS = `
:host {
  display: block;
  font-family: var(--shitu-font, system-ui, sans-serif);
  --accent: var(--shitu-accent, #1d4ed8);
  --ink: var(--shitu-ink, #1c2430);
  --muted: var(--shitu-muted, #4b5563);
  --line: var(--shitu-line, #d5dae1);
  --panel: var(--shitu-background, #ffffff);
  --danger: var(--shitu-danger, #b42318);
  --focus: var(--shitu-focus, #f59e0b);
  color: var(--ink);
  background: var(--panel);
}
:host([hidden]) { display: none; }
.part { margin: 0.5rem 0; }
.drop-zone { cursor: pointer; }
.status:empty { display: none; }
`;

let sheet: CSSStyleSheet | undefined;

export function elementStyles(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(`${pageCss}\n${ELEMENT_CSS}`);
  }
  return sheet;
}
