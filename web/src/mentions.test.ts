import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from './mentions';

const ANN = '11111111-1111-4111-8111-111111111111';
const ANNA = '22222222-2222-4222-8222-222222222222';
const names: Record<string, string> = { [ANN]: 'Ann', [ANNA]: 'Anna Lee' };

describe('mentions in the composer', () => {
  it('sends a completed @Name as its token, and only whole names', () => {
    const mentions = [{ label: '@Ann', token: `<@${ANN}>` }];
    expect(toWire('ping @Ann, and @Anna', mentions)).toBe(`ping <@${ANN}>, and @Anna`);
    expect(toWire('mail ann@Ann.example', mentions)).toBe('mail ann@Ann.example');
    expect(toWire('@Ann', mentions)).toBe(`<@${ANN}>`);
    expect(toWire('plain text', [])).toBe('plain text');
  });

  it('prefers the longest name', () => {
    const mentions = [
      { label: '@Ann', token: `<@${ANN}>` },
      { label: '@Anna Lee', token: `<@${ANNA}>` },
    ];
    expect(toWire('@Anna Lee and @Ann', mentions)).toBe(`<@${ANNA}> and <@${ANN}>`);
  });

  it('shows stored tokens as names to edit, and round-trips them', () => {
    const stored = `hi <@${ANN}> and <@${ANNA}>, <@${ANN}> again; <@33333333-3333-4333-8333-333333333333>`;
    const { text, mentions } = fromWire(stored, (id) => names[id]);
    expect(text).toBe('hi @Ann and @Anna Lee, @Ann again; <@33333333-3333-4333-8333-333333333333>');
    expect(mentions).toHaveLength(2);
    expect(toWire(text, mentions)).toBe(stored);
  });
});
