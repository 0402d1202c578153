/** The near-duplicate exports: each member's decision, removed groups included, quoted CSV. */
import { describe, expect, it } from 'vitest';
import { decision, duplicatesToCsv, duplicatesToJson } from '../../src/ui/duplicates-export.ts';

const marked = { names: ['a.jpg', 'b.jpg'], minScore: 0.9, maxScore: 0.9, keep: 0 };
const removed = { names: ['c.jpg', 'd, "e".jpg'], minScore: 0.95, maxScore: 0.95, keep: 0, removed: true };
const open = { names: ['f.jpg', 'g.jpg'], minScore: 0.88, maxScore: 0.99 };

describe('decision', () => {
  it('is keep for the kept member, remove or removed for the others, empty before a choice', () => {
    expect([decision(marked, 0), decision(marked, 1)]).toEqual(['keep', 'remove']);
    expect([decision(removed, 0), decision(removed, 1)]).toEqual(['keep', 'removed']);
    expect(decision(open, 0)).toBe('');
    // Two images of one name (the same file dropped twice): the choice is by place, so one of them goes.
    const twice = { names: ['x.jpg', 'x.jpg'], minScore: 1, maxScore: 1, keep: 1 };
    expect([decision(twice, 0), decision(twice, 1)]).toEqual(['remove', 'keep']);
  });
});

describe('duplicatesToJson / duplicatesToCsv', () => {
  it('list every group with its members and decisions', () => {
    const json = JSON.parse(duplicatesToJson([removed, marked, open], 0.85)) as {
      threshold: number;
      groups: { group: number; keep: string | null; members: { name: string; decision: string | null }[] }[];
    };
    expect(json.threshold).toBe(0.85);
    expect(json.groups.map((g) => g.keep)).toEqual(['c.jpg', 'a.jpg', null]);
    expect(json.groups[0]!.members).toEqual([
      { name: 'c.jpg', decision: 'keep' },
      { name: 'd, "e".jpg', decision: 'removed' },
    ]);
    expect(json.groups[2]!.members.map((m) => m.decision)).toEqual([null, null]);
    expect(duplicatesToCsv([removed, marked, open]).split('\r\n')).toEqual([
      'group,name,decision,min_score,max_score',
      '1,c.jpg,keep,0.950000,0.950000',
      '1,"d, ""e"".jpg",removed,0.950000,0.950000',
      '2,a.jpg,keep,0.900000,0.900000',
      '2,b.jpg,remove,0.900000,0.900000',
      '3,f.jpg,,0.880000,0.990000',
      '3,g.jpg,,0.880000,0.990000',
      '',
    ]);
  });
});
