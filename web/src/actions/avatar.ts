// The profile picture: uploaded to the install's storage (start, presigned PUT, complete) or
// removed. The server checks the bytes and answers 422 with its reason for anything that is
// not a PNG, JPEG or WebP picture up to 10 MiB; colleagues' pages refetch the members when
// told the members changed.

import { avatarFileProblem } from '../avatar';
import { client } from '../client';
import type { User } from '../types';
import { profileChanged } from './admin';
import { putToStorage } from './files';

interface AvatarStart {
  avatar_id: string;
  upload: { method: string; url: string; headers: Record<string, string>; expires_at_ms: number };
}

/** Uploads `file` as the profile picture; `onProgress` gets 0..1 of the bytes sent. */
export async function uploadAvatar(file: File, onProgress: (fraction: number) => void = () => {}): Promise<User> {
  const problem = avatarFileProblem(file);
  if (problem) throw new Error(problem);
  const started = await client.call<AvatarStart>('POST', '/me/avatar', { content_type: file.type, size: file.size });
  await putToStorage(started.upload, file, { onProgress });
  const done = await client.call<{ user: User }>('POST', `/me/avatar/${encodeURIComponent(started.avatar_id)}/complete`);
  profileChanged(done.user);
  return done.user;
}

/** Back to no picture (the initial shows instead). */
export async function removeAvatar(): Promise<User> {
  const r = await client.call<{ user: User }>('DELETE', '/me/avatar');
  profileChanged(r.user);
  return r.user;
}
