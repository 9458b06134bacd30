// A small emoji picker: a filter box (shortcodes) and a grid. Escape closes it without
// closing anything behind it; focus returns to the button that opened it.

import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { searchEmoji } from '../emoji';

export function EmojiPicker({ onPick, onClose, label = 'Add a reaction' }: { onPick: (e: string) => void; onClose: () => void; label?: string }) {
  const [q, setQ] = useState('');
  const [above, setAbove] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const filterId = useId();
  useEffect(() => input.current?.focus({ preventScroll: true }), []);
  // Opened near the bottom of a scrolled list (or the window), it would be cut off: it opens
  // upwards instead when there is more room above.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const r = el.getBoundingClientRect();
    const clip = clippingBox(el);
    if (r.bottom > clip.bottom && r.top - clip.top > clip.bottom - r.top) setAbove(true);
  }, []);
  useEffect(() => {
    const outside = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [onClose]);
  const query = q.trim().replace(/^:|:$/g, '');
  const list = searchEmoji(query).slice(0, 30);
  const pickTyped = () => {
    if (list.length) onPick(list[0][1]);
    else if (/^[a-z0-9_+-]{1,64}$/i.test(query)) onPick(`:${query.toLowerCase()}:`);
  };
  return (
    <div
      className={`emoji-picker${above ? ' above' : ''}`}
      role="dialog"
      aria-label={label}
      ref={box}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <label className="sr-only" htmlFor={filterId}>
        Search emoji by name
      </label>
      <input
        id={filterId}
        ref={input}
        placeholder=":shortcode:"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            pickTyped();
          }
        }}
      />
      <div className="emoji-grid">
        {list.map(([name, emoji]) => (
          <button key={name} type="button" className="emoji-btn" title={`:${name}:`} aria-label={`:${name}:`} onClick={() => onPick(emoji)}>
            {emoji}
          </button>
        ))}
        {!list.length && <p className="muted small">Enter adds :{query || '…'}:</p>}
      </div>
    </div>
  );
}

/** The visible box `el` can be drawn in: the nearest scrolling ancestor's, within the window. */
function clippingBox(el: HTMLElement): { top: number; bottom: number } {
  let top = 0;
  let bottom = window.innerHeight;
  for (let p = el.parentElement; p; p = p.parentElement) {
    const o = getComputedStyle(p).overflowY;
    if (o === 'auto' || o === 'scroll' || o === 'hidden') {
      const r = p.getBoundingClientRect();
      top = Math.max(top, r.top);
      bottom = Math.min(bottom, r.bottom);
      break;
    }
  }
  return { top, bottom };
}
