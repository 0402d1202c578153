/**
 * The embedding map's colours: the most frequent labels get a palette colour each (Tableau's 10, which stay
 * apart for most colour vision), rarer labels a hue from their name, unlabelled images grey. The legend lists
 * the palette's labels with their counts.
 */

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;
export const UNLABELLED_COLOUR = '#9ca3af';

export interface MapColours {
  /** A colour per point. */
  readonly colours: string[];
  /** The palette's labels, most frequent first, with their colour and count. */
  readonly legend: { readonly label: string; readonly colour: string; readonly count: number }[];
  /** Points with a label outside the legend. */
  readonly others: number;
  readonly unlabelled: number;
}

function hashedColour(label: string): string {
  let h = 2166136261;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 55% 48%)`;
}

export function mapColours(labels: readonly (string | undefined)[]): MapColours {
  const counts = new Map<string, number>();
  for (const l of labels) if (l) counts.set(l, (counts.get(l) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const colourOf = new Map<string, string>();
  ranked.forEach(([l], i) => colourOf.set(l, PALETTE[i] ?? hashedColour(l)));
  const legend = ranked.slice(0, PALETTE.length).map(([label, count]) => ({
    label,
    colour: colourOf.get(label)!,
    count,
  }));
  const colours = labels.map((l) => (l ? colourOf.get(l)! : UNLABELLED_COLOUR));
  const unlabelled = labels.filter((l) => !l).length;
  return { colours, legend, others: labels.length - unlabelled - legend.reduce((s, e) => s + e.count, 0), unlabelled };
}
