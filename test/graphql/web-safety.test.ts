// The pure parts of the web-safety plugins: nesting depth of documents and of JSON values.
import { describe, expect, it } from 'vitest';
import { documentNesting, jsonDepth } from '../../src/graphql/web-safety.js';

describe('documentNesting', () => {
  it('counts braces and brackets, not those in strings, block strings or comments', () => {
    expect(documentNesting('{ a { b(x: [1, {c: 2}]) } }')).toBe(4);
    expect(documentNesting('{ a(s: "{{{{[[[", t: """ {{{{ "" """) # {{{{{\n }')).toBe(1);
    expect(documentNesting('{ a(s: "\\"{{") }')).toBe(1);
    expect(documentNesting(`{ a(w: ${'{_and: ['.repeat(5_000)}{}${']}'.repeat(5_000)}) }`)).toBe(10_002);
  });
});

describe('jsonDepth', () => {
  it('counts nested objects and lists without recursion', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({ a: [1, { b: null }] })).toBe(3);
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(100_001);
  });
});
