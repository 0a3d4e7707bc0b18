// Pure parts of the request bounds: the byte-bounded document cache, the JSON size count, the row budget.
import { describe, expect, it } from 'vitest';
import { LimitError } from '../../src/errors/index.js';
import { RowBudget, jsonBytesUpTo } from '../../src/graphql/bounds.js';
import { DocumentCache } from '../../src/graphql/document-cache.js';

describe('document cache', () => {
  it('evicts the least recently used documents once their text passes maxBytes', () => {
    const cache = new DocumentCache<number>({ maxBytes: 30, maxDocumentBytes: 30 });
    cache.set('a'.repeat(10), 1);
    cache.set('b'.repeat(10), 2);
    cache.set('c'.repeat(10), 3);
    expect(cache.get('a'.repeat(10))).toBe(1); // now the newest
    cache.set('d'.repeat(10), 4);
    expect(cache.get('b'.repeat(10))).toBeUndefined();
    expect(cache.get('a'.repeat(10))).toBe(1);
    expect(cache.size).toEqual({ entries: 3, bytes: 30 });
  });

  it('never keeps a document longer than maxDocumentBytes', () => {
    const cache = new DocumentCache<number>({ maxBytes: 1_000, maxDocumentBytes: 10 });
    cache.set('x'.repeat(11), 1);
    expect(cache.size).toEqual({ entries: 0, bytes: 0 });
  });
});

describe('JSON size of a result', () => {
  it('counts exactly the bytes JSON.stringify writes, escapes and multi-byte text included', () => {
    const value = {
      a: ['plain', 'quote " and \\ and \n', 'é€😀', '\ud800 lone', 1.5, -3, true, null],
      'ké y': { nested: [[], {}], n: 1e21 },
    };
    expect(jsonBytesUpTo(value, Number.MAX_SAFE_INTEGER)).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it('stops counting soon after the cap', () => {
    const big = Array.from({ length: 100_000 }, () => 'x'.repeat(100));
    expect(jsonBytesUpTo(big, 1_000)).toBeGreaterThan(1_000);
    expect(jsonBytesUpTo(big, 1_000)).toBeLessThan(10_000_000);
  });
});

describe('row budget', () => {
  it('counts rows up to the bound, then fails the charge that passed it and every later field', () => {
    const budget = new RowBudget(10);
    budget.take(6, 'a');
    expect(budget.remaining()).toBe(4);
    expect(() => budget.take(5, 'b')).toThrow(LimitError);
    expect(budget.exceeded?.message).toContain('more than 10 rows (MAX_ROWS_PER_REQUEST), passed at b');
    expect(budget.remaining()).toBe(0);
    expect(() => budget.check()).toThrow('passed at b');
    expect(() => budget.take(0, 'c')).toThrow('passed at b');
  });
});
