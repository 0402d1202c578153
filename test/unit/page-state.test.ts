/** The page's state rules, without a DOM: labels from folders, the session, the embedding queue. */
import { describe, expect, it } from 'vitest';
import type { EmbeddingResult } from '../../src/core/embedder-api.ts';
import { labelFromPath } from '../../src/ui/collect-files.ts';
import { EmbedQueue, type QueueProgress } from '../../src/ui/embed-queue.ts';
import { Session } from '../../src/ui/session.ts';

const blob = (text: string) => new Blob([text]);

function ok(id: string, name: string): EmbeddingResult {
  return {
    ok: true,
    id,
    name,
    embedding: new Float32Array([1, 0]),
    width: 1,
    height: 1,
    timings: { decodeMs: 1, preprocessMs: 1, inferenceMs: 2 },
  };
}

describe('labelFromPath', () => {
  it('is the parent folder of a file inside a folder, else empty', () => {
    expect(labelFromPath('gallery/cat/1.jpg')).toBe('cat');
    expect(labelFromPath('cat/1.jpg')).toBe('cat');
    expect(labelFromPath('1.jpg')).toBe('');
    expect(labelFromPath('')).toBe('');
  });
});

describe('EmbedQueue', () => {
  it('embeds in drop order, in chunks, marking each card, and reports progress', async () => {
    const session = new Session();
    const calls: string[][] = [];
    const progress: QueueProgress[] = [];
    const queue = new EmbedQueue(
      session,
      2,
      (p) => progress.push(p),
      () => undefined,
    );
    queue.setTarget({
      async embed(images) {
        calls.push(images.map((i) => i.name));
        expect(images.every((i) => session.cards[Number(i.id)]!.status === 'embedding')).toBe(true);
        return images.map((i) =>
          i.name === 'bad'
            ? { ok: false, id: i.id, name: i.name, error: { code: 'image-decode', message: 'broken' } }
            : ok(i.id, i.name),
        );
      },
    });
    session.add(['a', 'bad', 'c'].map((name) => ({ file: blob(name), name, label: '' })));
    queue.kick();
    await expect.poll(() => session.cards.every((c) => c.status === 'done' || c.status === 'error')).toBe(true);
    expect(calls).toEqual([['a', 'bad'], ['c']]);
    expect(session.cards.map((c) => c.status)).toEqual(['done', 'error', 'done']);
    expect(session.cards[1]!.error).toBe('broken');
    expect(progress.at(-1)).toMatchObject({ done: 3, total: 3 });
    expect(session.done().map((c) => c.name)).toEqual(['a', 'c']);
  });

  it('a failed call marks its cards with the error; later cards are still embedded', async () => {
    const session = new Session();
    const queue = new EmbedQueue(
      session,
      1,
      () => undefined,
      () => undefined,
    );
    let n = 0;
    queue.setTarget({
      async embed(images) {
        if (n++ === 0) throw Object.assign(new Error('worker gone'), { code: 'disposed' });
        return images.map((i) => ok(i.id, i.name));
      },
    });
    session.add(['a', 'b'].map((name) => ({ file: blob(name), name, label: '' })));
    queue.kick();
    await expect.poll(() => session.cards[1]!.status).toBe('done');
    expect(session.cards[0]).toMatchObject({ status: 'error', error: 'worker gone' });
  });

  it("an unknown failure of a call is 'internal' (no code is guessed); onSettled gets every card with its result", async () => {
    const session = new Session();
    const settled: [string, string][] = [];
    const queue = new EmbedQueue(
      session,
      () => 2,
      () => undefined,
      () => undefined,
      (s) =>
        settled.push(
          ...s.map(({ card, result }): [string, string] => [card.name, result.ok ? 'ok' : result.error.code]),
        ),
    );
    let n = 0;
    queue.setTarget({
      async embed(images) {
        if (n++ === 0) throw new TypeError('x is undefined');
        return images.map((i) => ok(i.id, i.name));
      },
    });
    session.add(['a', 'b', 'c'].map((name) => ({ file: blob(name), name, label: '' })));
    queue.kick();
    await expect.poll(() => session.cards[2]!.status).toBe('done');
    expect(settled).toEqual([
      ['a', 'internal'],
      ['b', 'internal'],
      ['c', 'ok'],
    ]);
    expect(session.cards[0]).toMatchObject({ status: 'error', error: 'x is undefined' });
  });

  it("a model change discards the old model's results and embeds everything again", async () => {
    const session = new Session();
    const queue = new EmbedQueue(
      session,
      4,
      () => undefined,
      () => undefined,
    );
    let release: () => void = () => undefined;
    const slow = {
      embed: (images: readonly { id: string; name: string }[]) =>
        new Promise<EmbeddingResult[]>((r) => (release = () => r(images.map((i) => ok(i.id, 'old'))))),
    };
    queue.setTarget(slow);
    session.add([{ file: blob('x'), name: 'x', label: '' }]);
    queue.kick();
    await expect.poll(() => session.cards[0]!.status).toBe('embedding');
    const fresh = {
      embed: async (images: readonly { id: string; name: string }[]) =>
        images.map((i) => ({ ...ok(i.id, 'new'), embedding: new Float32Array([0, 1]) })),
    };
    queue.setTarget(fresh);
    release();
    await expect.poll(() => session.cards[0]!.status).toBe('done');
    expect(Array.from(session.cards[0]!.embedding!)).toEqual([0, 1]);
  });

  it('requeueAll puts every card back and forgets its vector', () => {
    const session = new Session();
    const [a] = session.add([{ file: blob('a'), name: 'a', label: 'l' }]);
    a!.status = 'done';
    a!.embedding = new Float32Array([1]);
    session.requeueAll();
    expect(a).toMatchObject({ status: 'queued', embedding: undefined, label: 'l' });
  });

  it('a card removed while its chunk is in the worker stays removed; the rest of the chunk lands', async () => {
    const session = new Session();
    const embedded: string[] = [];
    const queue = new EmbedQueue(
      session,
      4,
      () => undefined,
      (cards) => embedded.push(...cards.map((c) => c.name)),
    );
    let release: () => void = () => undefined;
    queue.setTarget({
      embed: (images) =>
        new Promise<EmbeddingResult[]>((r) => (release = () => r(images.map((i) => ok(i.id, i.name))))),
    });
    const [a, b] = session.add(['a', 'b'].map((name) => ({ file: blob(name), name, label: '' })));
    queue.kick();
    await expect.poll(() => a!.status).toBe('embedding');
    const events: string[] = [];
    session.subscribe((e) => events.push(e.type === 'updated' ? `updated ${e.cards.map((c) => c.name)}` : e.type));
    session.remove([a!]);
    release();
    await expect.poll(() => b!.status).toBe('done');
    expect(session.cards).toEqual([b]);
    expect(embedded).toEqual(['b']);
    expect(events).toEqual(['removed', 'updated b']);
  });
});

describe('Session.remove', () => {
  const three = () => {
    const session = new Session();
    const cards = session.add(['a', 'b', 'c'].map((name) => ({ file: blob(name), name, label: '' })));
    return { session, cards };
  };

  it('takes the cards off and emits one removed event; indices stay and are never reused', () => {
    const { session, cards } = three();
    const seen: string[][] = [];
    session.subscribe((e) => e.type === 'removed' && seen.push(e.cards.map((c) => c.name)));
    session.remove([cards[1]!, cards[1]!]);
    expect(session.cards.map((c) => c.name)).toEqual(['a', 'c']);
    expect(seen).toEqual([['b']]);
    expect(session.card(1)).toBeUndefined();
    expect(session.card(2)).toBe(cards[2]);
    expect(session.has(cards[1]!)).toBe(false);
    session.remove([cards[1]!]); // already gone: no event
    expect(seen).toHaveLength(1);
    const [d] = session.add([{ file: blob('d'), name: 'd', label: '' }]);
    expect(d!.index).toBe(3);
    expect(session.card(3)).toBe(d);
  });

  it('moves the selection to the next card left, else the one before, else none', () => {
    const { session, cards } = three();
    session.select(cards[1]);
    session.remove([cards[1]!]);
    expect(session.selected).toBe(cards[2]);
    session.remove([cards[2]!]);
    expect(session.selected).toBe(cards[0]);
    session.remove([cards[0]!]);
    expect(session.selected).toBeUndefined();
  });

  it('leaves the selection alone when another card goes', () => {
    const { session, cards } = three();
    session.select(cards[0]);
    const types: string[] = [];
    session.subscribe((e) => types.push(e.type));
    session.remove([cards[2]!]);
    expect(session.selected).toBe(cards[0]);
    expect(types).toEqual(['removed']);
  });
});
