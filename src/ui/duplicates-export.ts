/**
 * The near-duplicate groups as files: JSON (the groups with their scores and the person's choices) and CSV
 * (one row per image: its group, whether it is the one kept or one to remove). The page never deletes files;
 * the export is the list to act on.
 */

export interface DuplicateGroupChoice {
  readonly names: readonly string[];
  readonly minScore: number;
  readonly maxScore: number;
  /** The member chosen with "keep one", if any. */
  readonly keep?: string;
}

/** 'keep', 'remove' (another member is kept), or '' (no choice yet). */
export function decision(group: DuplicateGroupChoice, name: string): 'keep' | 'remove' | '' {
  return group.keep === undefined ? '' : group.keep === name ? 'keep' : 'remove';
}

export function duplicatesToJson(groups: readonly DuplicateGroupChoice[], threshold: number): string {
  return JSON.stringify(
    {
      threshold,
      groups: groups.map((g, i) => ({
        group: i + 1,
        minScore: g.minScore,
        maxScore: g.maxScore,
        keep: g.keep ?? null,
        members: g.names.map((name) => ({ name, decision: decision(g, name) || null })),
      })),
    },
    null,
    2,
  );
}

/** RFC 4180: names quoted when they need it. */
export function duplicatesToCsv(groups: readonly DuplicateGroupChoice[]): string {
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = groups.flatMap((g, i) =>
    g.names.map((name) =>
      [i + 1, quote(name), decision(g, name), g.minScore.toFixed(6), g.maxScore.toFixed(6)].join(','),
    ),
  );
  return ['group,name,decision,min_score,max_score', ...rows].join('\r\n') + '\r\n';
}
