// Uploads (start, PUT with progress, complete), sending them with a message, and fetching
// download URLs for pictures and cards.

import { ApiError } from '../api';
import { client } from '../client';
import { state, update } from '../store';
import type { MessageFile, UploadStart } from '../types';

export interface Upload {
  key: string;
  name: string;
  size: number;
  /** 0..1 of the bytes sent. */
  progress: number;
  status: 'uploading' | 'ready' | 'failed';
  error: string;
  /** Once started on the server. */
  id?: string;
  file?: MessageFile;
  xhr?: XMLHttpRequest;
}

/** Uploads belong to one composer: a channel's, or a thread's. */
export const composerKey = (channelId: string, threadRootId: string | null) => `${channelId}:${threadRootId ?? ''}`;

let uploadIds = 0;

/** Starts uploading `files` for the composer of `channelId` (and thread). */
export function addFiles(channelId: string, threadRootId: string | null, files: Iterable<File>) {
  const k = composerKey(channelId, threadRootId);
  for (const f of files) {
    const u: Upload = { key: `u${++uploadIds}`, name: f.name || 'pasted image', size: f.size, progress: 0, status: 'uploading', error: '' };
    update((s) => {
      s.uploads.set(k, [...(s.uploads.get(k) ?? []), u]);
    });
    void upload(channelId, u, f);
  }
}

function changed(u: Upload, fn: (u: Upload) => void) {
  update(() => fn(u));
}

async function upload(channelId: string, u: Upload, f: File) {
  try {
    const started = await client.call<UploadStart>('POST', `/channels/${channelId}/files`, {
      name: u.name,
      content_type: f.type || 'application/octet-stream',
      size: f.size,
    });
    changed(u, (x) => {
      x.id = started.file.id;
    });
    await put(u, started.upload, f);
    const done = await client.call<{ file: MessageFile }>('POST', `/files/${started.file.id}/complete`);
    changed(u, (x) => {
      x.status = 'ready';
      x.progress = 1;
      x.file = done.file;
    });
  } catch (e) {
    changed(u, (x) => {
      x.status = 'failed';
      x.error = e instanceof ApiError || e instanceof Error ? e.message : String(e);
    });
  }
}

/** The PUT to storage, with progress; XHR because fetch cannot report upload progress. */
function put(u: Upload, target: UploadStart['upload'], f: File): Promise<void> {
  return putToStorage(target, f, {
    onXhr: (xhr) => (u.xhr = xhr),
    onProgress: (p) => changed(u, (x) => (x.progress = p)),
  });
}

/**
 * PUTs `body` to a presigned `target` with exactly its signed headers (bar the length, which
 * the browser sets itself), reporting 0..1 of the bytes sent. Rejects with a readable reason.
 */
export function putToStorage(
  target: UploadStart['upload'],
  body: Blob,
  opts: { onProgress?: (fraction: number) => void; onXhr?: (xhr: XMLHttpRequest) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    opts.onXhr?.(xhr);
    xhr.open(target.method, target.url);
    for (const [k, v] of Object.entries(target.headers)) {
      // The browser sets the length itself (it is the file's, as signed).
      if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && opts.onProgress) opts.onProgress(e.loaded / e.total);
    };
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`The storage refused the upload (HTTP ${xhr.status}).`));
    xhr.onerror = () => reject(new Error('The upload failed: the storage could not be reached.'));
    xhr.onabort = () => reject(new Error('The upload was cancelled.'));
    xhr.send(body);
  });
}

/** Takes an upload out of the composer; one already on the server is deleted there. */
export function removeUpload(channelId: string, threadRootId: string | null, u: Upload) {
  const k = composerKey(channelId, threadRootId);
  u.xhr?.abort();
  update((s) => {
    s.uploads.set(k, (s.uploads.get(k) ?? []).filter((x) => x !== u));
  });
  if (u.id) void client.call('DELETE', `/files/${u.id}`).catch(() => undefined);
}

/** The composer's finished uploads, taken out of it to go with the message being sent. */
export function takeReady(channelId: string, threadRootId: string | null): MessageFile[] {
  const k = composerKey(channelId, threadRootId);
  const list = state.uploads.get(k) ?? [];
  const ready = list.filter((u) => u.status === 'ready' && u.file).map((u) => u.file!);
  update((s) => {
    s.uploads.set(k, list.filter((u) => u.status !== 'ready'));
  });
  return ready;
}

interface FileUrls {
  url: string;
  thumbnail_url: string | null;
  expires_at_ms: number;
}

/** Download URLs by file, reused while fresh (they are valid five minutes). */
const urls = new Map<string, FileUrls>();

async function fileUrls(id: string): Promise<FileUrls> {
  const known = urls.get(id);
  if (known && known.expires_at_ms > Date.now() + 30_000) return known;
  const r = await client.call<FileUrls>('GET', `/files/${id}/url`);
  urls.set(id, r);
  return r;
}

/** The file itself. */
export async function fileUrl(id: string): Promise<string> {
  return (await fileUrls(id)).url;
}

/** What a message shows of a picture: its thumbnail (upright, small, without the photo's
 * metadata) when the server made one. */
export async function previewUrl(id: string): Promise<string> {
  const u = await fileUrls(id);
  return u.thumbnail_url ?? u.url;
}

/** Saves a file: the store answers with `Content-Disposition: attachment`. */
export async function download(id: string) {
  const a = document.createElement('a');
  a.href = await fileUrl(id);
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

export function openLightbox(file: MessageFile | null) {
  update((s) => {
    s.lightbox = file;
  });
}
