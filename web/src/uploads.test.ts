import { describe, expect, it } from 'vitest';
import { fitInto, formatSize, isInlineImage, typeLabel } from './uploads';

describe('files', () => {
  it('reads sizes as people do', () => {
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(999)).toBe('999 bytes');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(52_428_800)).toBe('52 MB');
    expect(formatSize(3_000_000_000)).toBe('3.0 GB');
  });

  it('fits pictures without enlarging them', () => {
    expect(fitInto(4, 3, 360, 240)).toEqual({ width: 4, height: 3 });
    expect(fitInto(4000, 3000, 360, 240)).toEqual({ width: 320, height: 240 });
    expect(fitInto(100, 4000, 360, 240)).toEqual({ width: 6, height: 240 });
  });

  it('shows only safe images inline', () => {
    expect(isInlineImage({ content_type: 'image/png' })).toBe(true);
    expect(isInlineImage({ content_type: 'image/svg+xml' })).toBe(false);
    expect(isInlineImage({ content_type: 'text/html' })).toBe(false);
  });

  it('labels types briefly', () => {
    expect(typeLabel('application/pdf', 'Q3 report.pdf')).toBe('PDF');
    expect(typeLabel('application/octet-stream', 'blob')).toBe('OCTET-ST');
  });
});
