// Pure helpers for files: how a size reads, which files show as pictures, and the order
// attachments keep in a message.

import type { MessageFile } from './types';

/** Images the server lets a browser show inline; everything else is a download card. */
export const isInlineImage = (f: Pick<MessageFile, 'content_type'>) =>
  ['image/png', 'image/jpeg', 'image/gif', 'image/webp'].includes(f.content_type);

/** 1536 → "1.5 KB": decimal units with one decimal under 10, as file managers show them. */
export function formatSize(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  if (i === 0) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** Where a picture of `w`x`h` fits in `maxW`x`maxH`, keeping its shape (never enlarged). */
export function fitInto(w: number, h: number, maxW: number, maxH: number): { width: number; height: number } {
  const scale = Math.min(1, maxW / w, maxH / h);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** A short label for a type in a file card: `PDF`, `ZIP`, `TXT`, else the subtype. */
export function typeLabel(contentType: string, name: string): string {
  const ext = name.includes('.') ? name.split('.').pop()!.toUpperCase() : '';
  if (ext && ext.length <= 5) return ext;
  return (contentType.split('/')[1] ?? contentType).toUpperCase().slice(0, 8);
}
