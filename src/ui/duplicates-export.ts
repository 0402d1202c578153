/**
 * The near-duplicate groups as files: JSON (the groups with their scores and the person's choices) and CSV
 * (one row per image: its group, whether it is the one kept, one to remove, or one already taken off the page).
 * The page cannot delete files on your disk; the export is the list to act on there.
 */

export interface DuplicateGroupChoice {
  readonly names: readonly string[];
  readonly minScore: number;
  readonly maxScore: number;
  /** The member chosen with "keep one", as its place in `names` (two images may share a name), if any. */
  readonly keep?: number;
  /** The others were taken off the page (and out of the gallery), not only marked. */
  readonly removed?: boolean;
}

export type DuplicateDecision = 'keep' | 'remove' | 'removed' | '';

/** 'keep', 'remove' (another member is kept), 'removed' (and it was taken off the page), or '' (no choice yet). */
export function decision(group: DuplicateGroupChoice, member: number): DuplicateDecision {
  if (group.keep === undefined) return '';
  if (group.keep === member) return 'keep';
  return group.removed ? 'removed' : 'remove';
}

export function duplicatesToJson(groups: readonly DuplicateGroupChoice[], threshold: number): string {
  return JSON.stringify(
    {
      threshold,
      groups: groups.map((g, i) => ({
        group: i + 1,
        minScore: g.minScore,
        maxScore: g.maxScore,
        keep: g.keep === undefined ? null : g.names[g.keep],
        members: g.names.map((name, m) => ({ name, decision: decision(g, m) || null })),
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
    g.names.map((name, m) =>
      [i + 1, quote(name), decision(g, m), g.minScore.toFixed(6), g.maxScore.toFixed(6)].join(','),
    ),
  );
  return ['group,name,decision,min_score,max_score', ...rows].join('\r\n') + '\r\n';
}
