import { describe, expect, it } from 'vitest';
import { endsAtProvider, parseSsoError, ssoProvider, type Providers } from './sso';

const base: Providers = { password: true, magic_link: true, email_verification: false, oidc: null };
const sso: Providers = { ...base, oidc: { name: 'Test IdP', start_url: '/api/v1/auth/oidc/start' } };

describe('ssoProvider', () => {
  it('is null without a provider', () => {
    expect(ssoProvider(null)).toBeNull();
    expect(ssoProvider(base)).toBeNull();
  });
  it('gives the name and the start URL', () => {
    expect(ssoProvider(sso)).toEqual({ name: 'Test IdP', start_url: '/api/v1/auth/oidc/start' });
  });
  it('names an unnamed provider', () => {
    expect(ssoProvider({ ...base, oidc: { name: '  ', start_url: '/s' } })?.name).toBe('single sign-on');
  });
  it('refuses a start URL off our origin', () => {
    for (const start_url of ['https://evil.example/', '//evil.example/x', 'javascript:alert(1)', '/\\evil.example']) {
      expect(ssoProvider({ ...base, oidc: { name: 'X', start_url } })).toBeNull();
    }
  });
});

describe('parseSsoError', () => {
  it('is null without one', () => {
    expect(parseSsoError('')).toBeNull();
    expect(parseSsoError('#token=abc')).toBeNull();
  });
  it('decodes the reason', () => {
    expect(parseSsoError('#sso_error=the%20identity%20provider%20refused%3A%20access_denied')).toBe(
      'Single sign-on failed: the identity provider refused: access_denied.',
    );
    expect(parseSsoError('sso_error=start+again')).toBe('Single sign-on failed: start again.');
  });
  it('does not double a full stop', () => {
    expect(parseSsoError('#sso_error=it%20broke.')).toBe('Single sign-on failed: it broke.');
  });
  it('says so without a reason', () => {
    expect(parseSsoError('#sso_error=')).toBe('Single sign-on failed.');
  });
  it('drops control characters', () => {
    expect(parseSsoError('#sso_error=a%0Ab')).toBe('Single sign-on failed: a b.');
  });
});

describe('endsAtProvider', () => {
  const oidc = [
    { current: false, method: 'password' as const },
    { current: true, method: 'oidc' as const },
  ];
  it('when this session began at the provider', () => {
    expect(endsAtProvider(sso, oidc)).toBe(true);
  });
  it('not for another method, another session or without a provider', () => {
    expect(endsAtProvider(sso, [{ current: true, method: 'password' }, { current: false, method: 'oidc' }])).toBe(false);
    expect(endsAtProvider(base, oidc)).toBe(false);
    expect(endsAtProvider(null, oidc)).toBe(false);
  });
});
