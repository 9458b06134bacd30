// The pure part of profile pictures: which files may be uploaded (as the server checks them:
// PNG, JPEG or WebP up to 10 MiB), which `avatar_url` an <img> may load (our own origin only),
// and the coloured initial shown without one.

export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type AvatarType = (typeof AVATAR_TYPES)[number];
export const AVATAR_MAX_BYTES = 10 * 1024 * 1024;
/** For the file input's `accept`. */
export const AVATAR_ACCEPT = AVATAR_TYPES.join(',');

/** Why a picked file cannot be a profile picture, or null when it may be uploaded. */
export function avatarFileProblem(f: { type: string; size: number }): string | null {
  if (!(AVATAR_TYPES as readonly string[]).includes(f.type)) return 'Choose a PNG, JPEG or WebP picture.';
  if (f.size <= 0) return 'That file is empty.';
  if (f.size > AVATAR_MAX_BYTES) return 'The picture is too large: at most 10 MB.';
  return null;
}

/**
 * What an <img> may load for `avatar_url`: a path on our own origin (`/api/v1/avatars/{id}`,
 * which redirects to the stored picture). Anything else (another host's URL from an older
 * profile, `javascript:`, `//host`) shows the initial instead.
 */
export function avatarSrc(url: string | null | undefined): string | null {
  if (!url) return null;
  const u = url.trim();
  if (!u.startsWith('/') || u.startsWith('//') || u.includes('\\')) return null;
  if (/[\u0000-\u0020\u007f]/.test(u)) return null;
  return u;
}

/** A stable hue per person, so the initials are told apart at a glance. */
export function hueOf(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

/** The first letter of a name (a whole character, even outside the BMP), upper-cased; `?` for none. */
export function initialOf(name: string | null | undefined): string {
  const first = [...(name ?? '').trim()][0];
  return first ? first.toUpperCase() : '?';
}
