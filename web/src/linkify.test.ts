import { describe, expect, it } from 'vitest';
import { linkify } from './linkify';

describe('linkify', () => {
  it('picks out links, leaving trailing punctuation as text', () => {
    expect(linkify('Open http://127.0.0.1:8080/verify-email#token=a_b-C. Thanks')).toEqual([
      { text: 'Open ' },
      { text: 'http://127.0.0.1:8080/verify-email#token=a_b-C', href: 'http://127.0.0.1:8080/verify-email#token=a_b-C' },
      { text: '. Thanks' },
    ]);
  });
  it('leaves text without links alone, and other schemes as text', () => {
    expect(linkify('no links here')).toEqual([{ text: 'no links here' }]);
    expect(linkify('')).toEqual([]);
    expect(linkify('javascript:alert(1)')).toEqual([{ text: 'javascript:alert(1)' }]);
  });
  it('finds several links, one per line', () => {
    const parts = linkify('a https://x.example/1\nb https://x.example/2');
    expect(parts.filter((p) => 'href' in p).map((p) => p.text)).toEqual(['https://x.example/1', 'https://x.example/2']);
  });
});
