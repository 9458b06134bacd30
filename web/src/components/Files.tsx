// Files in a message: pictures (their space reserved from the size the server measured,
// shown by their thumbnail) that open full size in a lightbox, and cards (name, size, type)
// that download.

import { useEffect, useRef, useState } from 'react';
import { download, fileUrl, openLightbox, previewUrl } from '../actions/files';
import { useStore } from '../store';
import type { MessageFile } from '../types';
import { fitInto, formatSize, isInlineImage, typeLabel } from '../uploads';

function Picture({ f }: { f: MessageFile }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    (f.thumbnail ? previewUrl : fileUrl)(f.id).then(
      (u) => live && setUrl(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [f.id]);
  const box = f.width && f.height ? fitInto(f.width, f.height, 360, 240) : { width: 240, height: 160 };
  return (
    <button
      type="button"
      className="file-picture"
      // Tiny pictures keep their size but not a tiny target.
      style={{ width: Math.max(box.width, 48), height: Math.max(box.height, 48) }}
      aria-label={`${f.name}: open full size`}
      data-file={f.name}
      onClick={() => openLightbox(f)}
    >
      {url && !failed ? (
        <img src={url} alt={f.name} width={box.width} height={box.height} onError={() => setFailed(true)} />
      ) : (
        <span className="muted small">{failed ? 'Could not load the picture.' : 'Loading…'}</span>
      )}
    </button>
  );
}

function Card({ f }: { f: MessageFile }) {
  const [error, setError] = useState('');
  return (
    <span className="file-card-wrap">
      <button
        type="button"
        className="file-card"
        data-file={f.name}
        aria-label={`Download ${f.name}, ${formatSize(f.size)}`}
        onClick={() => download(f.id).catch((e) => setError((e as Error).message))}
      >
        <span className="file-type" aria-hidden="true">
          {typeLabel(f.content_type, f.name)}
        </span>
        <span className="file-meta">
          <span className="file-name">{f.name}</span>
          <span className="muted small">
            {formatSize(f.size)} · {f.content_type}
          </span>
        </span>
      </button>
      {error && <span className="form-error small">{error}</span>}
    </span>
  );
}

export function MessageFiles({ files }: { files: MessageFile[] }) {
  if (!files.length) return null;
  return (
    <div className="files" data-testid="files">
      {files.map((f) => (isInlineImage(f) ? <Picture key={f.id} f={f} /> : <Card key={f.id} f={f} />))}
    </div>
  );
}

/** A picture full size over everything; Escape or a click outside closes it. */
export function Lightbox() {
  const s = useStore();
  const f = s.lightbox;
  const [url, setUrl] = useState<string | null>(null);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!f) return;
    setUrl(null);
    void fileUrl(f.id).then(setUrl, () => undefined);
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        openLightbox(null);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [f]);
  if (!f) return null;
  return (
    <div className="lightbox" role="dialog" aria-modal="true" aria-label={f.name} onClick={() => openLightbox(null)}>
      <figure onClick={(e) => e.stopPropagation()}>
        {url && <img src={url} alt={f.name} />}
        <figcaption>
          <span>{f.name}</span>
          <span className="muted small">{formatSize(f.size)}</span>
          <button type="button" className="small" onClick={() => void download(f.id)}>
            Download
          </button>
          <button ref={close} type="button" className="small" aria-label="Close" onClick={() => openLightbox(null)}>
            ✕
          </button>
        </figcaption>
      </figure>
    </div>
  );
}
