// The filters of a search query (from:, in:, has:, is:, before:, after:, on:), found the way
// the server reads them, so the results can show each as a chip that removes it.

const FILTERS = new Set(['from', 'in', 'has', 'is', 'before', 'after', 'on']);

export interface Chip {
  /** As written, e.g. `from:@ann`. */
  text: string;
  start: number;
  end: number;
}

/** The filter tokens of `q`, in order. Quoted phrases are skipped whole. */
export function queryChips(q: string): Chip[] {
  const chips: Chip[] = [];
  let i = 0;
  while (i < q.length) {
    if (/\s/.test(q[i])) {
      i++;
      continue;
    }
    const start = i;
    if (q[i] === '"' || (q[i] === '-' && q[i + 1] === '"')) {
      const open = q.indexOf('"', start) + 1;
      const close = q.indexOf('"', open);
      i = close < 0 ? q.length : close + 1;
      continue;
    }
    while (i < q.length && !/\s/.test(q[i])) i++;
    const text = q.slice(start, i);
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
    if (FILTERS.has(name) && colon < text.length - 1 && !text.slice(colon + 1).startsWith('//')) {
      chips.push({ text, start, end: i });
    }
  }
  return chips;
}

/** `q` without `chip`, spaces tidied. */
export function withoutChip(q: string, chip: Chip): string {
  return `${q.slice(0, chip.start)} ${q.slice(chip.end)}`.replace(/\s+/g, ' ').trim();
}
