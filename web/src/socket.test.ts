import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay } from './socket';

describe('reconnect backoff', () => {
  it('doubles from the base up to the cap', () => {
    const top = () => 1; // largest jitter
    expect(backoffDelay(0, top)).toBe(BACKOFF_BASE_MS);
    expect(backoffDelay(1, top)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelay(3, top)).toBe(BACKOFF_BASE_MS * 8);
    expect(backoffDelay(30, top)).toBe(BACKOFF_CAP_MS);
  });

  it('jitters within [half, full] of the step so clients spread out', () => {
    expect(backoffDelay(2, () => 0)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelay(2, () => 0.5)).toBe(BACKOFF_BASE_MS * 3);
    const seen = new Set(Array.from({ length: 50 }, (_, i) => backoffDelay(4, () => i / 50)));
    expect(seen.size).toBeGreaterThan(40);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(BACKOFF_BASE_MS * 8);
      expect(d).toBeLessThanOrEqual(BACKOFF_BASE_MS * 16);
    }
  });
});
