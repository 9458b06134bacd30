import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { authErrorText, parseLink } from './auth';

describe('parseLink', () => {
  it('reads the kind from the path and the token from the fragment', () => {
    expect(parseLink('/verify-email', '#token=abc_DEF-123')).toEqual({ kind: 'verify-email', token: 'abc_DEF-123' });
    expect(parseLink('/reset-password/', '#token=t1')).toEqual({ kind: 'reset-password', token: 't1' });
    expect(parseLink('/magic-link', '#other=1&token=t%2B2')).toEqual({ kind: 'magic-link', token: 't+2' });
  });

  it('gives an empty token when the fragment has none', () => {
    expect(parseLink('/magic-link', '')).toEqual({ kind: 'magic-link', token: '' });
    expect(parseLink('/verify-email', '#token=')).toEqual({ kind: 'verify-email', token: '' });
  });

  it('ignores every other path', () => {
    expect(parseLink('/', '#token=abc')).toBeNull();
    expect(parseLink('/invite/xyz', '#token=abc')).toBeNull();
    expect(parseLink('/verify-email/more', '#token=abc')).toBeNull();
    expect(parseLink('/x/magic-link', '#token=abc')).toBeNull();
  });
});

describe('authErrorText', () => {
  it('says how long a rate limit lasts', () => {
    expect(authErrorText(new ApiError(429, 'rate_limited', 'slow down', 42))).toBe('Too many attempts; try again in 42 seconds.');
    expect(authErrorText(new ApiError(429, 'rate_limited', 'slow down', 1))).toBe('Too many attempts; try again in 1 second.');
    expect(authErrorText(new ApiError(429, 'rate_limited', 'slow down'))).toBe('Too many attempts; try again later.');
  });

  it("shows the server's message otherwise", () => {
    expect(authErrorText(new ApiError(400, 'link_invalid', 'This link was already used.'))).toBe('This link was already used.');
    expect(authErrorText(new Error('Cannot reach the server.'))).toBe('Cannot reach the server.');
  });
});
