import { describe, expect, it } from 'vitest';
import { AVATAR_ACCEPT, AVATAR_MAX_BYTES, avatarFileProblem, avatarSrc, hueOf, initialOf } from './avatar';

describe('avatarFileProblem', () => {
  it('takes PNG, JPEG and WebP up to 10 MiB', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp']) expect(avatarFileProblem({ type, size: 1 })).toBeNull();
    expect(avatarFileProblem({ type: 'image/png', size: AVATAR_MAX_BYTES })).toBeNull();
  });
  it('refuses other types', () => {
    for (const type of ['image/gif', 'image/svg+xml', 'text/plain', '']) {
      expect(avatarFileProblem({ type, size: 10 })).toBe('Choose a PNG, JPEG or WebP picture.');
    }
  });
  it('refuses empty and too large files', () => {
    expect(avatarFileProblem({ type: 'image/png', size: 0 })).toBe('That file is empty.');
    expect(avatarFileProblem({ type: 'image/png', size: AVATAR_MAX_BYTES + 1 })).toMatch(/too large/);
  });
  it('offers the same types to the file input', () => {
    expect(AVATAR_ACCEPT).toBe('image/png,image/jpeg,image/webp');
  });
});

describe('avatarSrc', () => {
  it('loads our own avatars', () => {
    expect(avatarSrc('/api/v1/avatars/0b7c1e9e-2c41-4c61-9d1f-3f0e4a8c9b11')).toBe('/api/v1/avatars/0b7c1e9e-2c41-4c61-9d1f-3f0e4a8c9b11');
  });
  it('is null without one', () => {
    expect(avatarSrc(undefined)).toBeNull();
    expect(avatarSrc(null)).toBeNull();
    expect(avatarSrc('')).toBeNull();
  });
  it('never loads from another host or a script URL', () => {
    for (const u of ['https://evil.example/a.png', '//evil.example/a.png', '/\\evil.example', 'javascript:alert(1)', 'data:image/png;base64,AA', '/a b', '/a\nb']) {
      expect(avatarSrc(u)).toBeNull();
    }
  });
});

describe('initials and hues', () => {
  it('takes the first character', () => {
    expect(initialOf('ann')).toBe('A');
    expect(initialOf('  émile')).toBe('É');
    expect(initialOf('😀 smile')).toBe('😀');
    expect(initialOf('')).toBe('?');
    expect(initialOf(undefined)).toBe('?');
  });
  it('gives a stable hue in 0..359', () => {
    expect(hueOf('abc')).toBe(hueOf('abc'));
    for (const id of ['', 'x', '0b7c1e9e-2c41-4c61-9d1f-3f0e4a8c9b11']) {
      expect(hueOf(id)).toBeGreaterThanOrEqual(0);
      expect(hueOf(id)).toBeLessThan(360);
    }
  });
});
