import { describe, expect, it } from 'vitest';
import { queryChips, withoutChip } from './searchQuery';

describe('search query chips', () => {
  it('finds the filters and only them', () => {
    const q = 'deploy from:@ann "in:#not a filter" in:#ops has:link https://x.io 12:30 before:2026-01-31';
    expect(queryChips(q).map((c) => c.text)).toEqual(['from:@ann', 'in:#ops', 'has:link', 'before:2026-01-31']);
  });

  it('removes a chip and tidies the spaces', () => {
    const q = 'deploy  from:@ann in:#ops';
    const [from] = queryChips(q);
    expect(withoutChip(q, from)).toBe('deploy in:#ops');
  });

  it('ignores a filter without a value and an unclosed phrase', () => {
    expect(queryChips('from: "open quote in:#ops')).toEqual([]);
  });
});
