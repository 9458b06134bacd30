// Search: the box in the top bar (Ctrl/Cmd+K or `/` puts the cursor there) and the results
// in the main area, grouped by channel, the query's filters as removable chips, each hit's
// snippet with the matched words marked. Opening a hit shows it in its channel or thread.

import { useEffect, useRef, useState } from 'react';
import { closeSearch, moreResults, openHit, runSearch, showResults } from '../actions/search';
import { formatTime } from '../format';
import { queryChips, withoutChip } from '../searchQuery';
import { type SearchSort, useStore } from '../store';
import type { SearchHit } from '../types';

function isTyping(el: Element | null): boolean {
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || (el as HTMLElement).isContentEditable);
}

export function SearchBox() {
  const s = useStore();
  const [q, setQ] = useState(s.search?.q ?? '');
  const input = useRef<HTMLInputElement>(null);
  const current = s.search?.q;
  useEffect(() => {
    if (current !== undefined) setQ(current);
  }, [current]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const k = (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k';
      if (k || (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(document.activeElement))) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  if (!s.wsId) return null;
  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(e) => {
        e.preventDefault();
        void runSearch(q);
      }}
    >
      <label htmlFor="search-input" className="sr-only">
        Search messages
      </label>
      <input
        id="search-input"
        ref={input}
        type="search"
        value={q}
        maxLength={500}
        placeholder="Search (Ctrl+K)"
        aria-keyshortcuts="Control+K Meta+K /"
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            input.current?.blur();
          }
        }}
      />
      {s.search && !s.search.open && (
        <button type="button" className="ghost small" onClick={() => showResults(true)}>
          Results
        </button>
      )}
    </form>
  );
}

function Snippet({ hit }: { hit: SearchHit }) {
  return (
    <p className="snippet">
      {hit.snippet.map((part, i) => (part.hit ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
    </p>
  );
}

/** Hits in order, each channel's consecutive hits under one heading. */
function groups(hits: SearchHit[]): { key: string; label: string; hits: SearchHit[] }[] {
  const out: { key: string; label: string; hits: SearchHit[] }[] = [];
  for (const h of hits) {
    const last = out[out.length - 1];
    if (last && last.hits[0].channel_id === h.channel_id) last.hits.push(h);
    else {
      const label = h.channel_kind === 'dm' ? 'Direct message' : `${h.channel_kind === 'private' ? '🔒 ' : '#'}${h.channel_name}`;
      out.push({ key: `${h.channel_id}:${h.message_id}`, label, hits: [h] });
    }
  }
  return out;
}

export function SearchResults() {
  const s = useStore();
  const search = s.search;
  if (!search) return null;
  const chips = queryChips(search.q);
  return (
    <section className="channel search-results" aria-labelledby="search-title" data-testid="search-results">
      <header className="ch-header">
        <h1 id="search-title">Search</h1>
        <span className="spacer" />
        <label className="small">
          Sort{' '}
          <select value={search.sort} onChange={(e) => void runSearch(search.q, e.target.value as SearchSort)}>
            <option value="relevance">Most relevant</option>
            <option value="newest">Newest</option>
          </select>
        </label>
        <button type="button" className="ghost small" aria-label="Close the search results" onClick={() => closeSearch()}>
          ✕
        </button>
      </header>
      <div className="scroller">
        <p className="muted pad">
          Results for <strong>{search.q}</strong>
        </p>
        {chips.length > 0 && (
          <ul className="chips" aria-label="Filters">
            {chips.map((c) => (
              <li key={`${c.start}:${c.text}`} className="chip">
                {c.text}
                <button type="button" className="chip-x" aria-label={`Remove the filter ${c.text}`} onClick={() => void runSearch(withoutChip(search.q, c))}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
        {search.loaded === 'loading' && <p className="muted pad">Searching…</p>}
        {search.loaded === 'error' && (
          <p className="form-error pad" role="alert">
            {search.error}
          </p>
        )}
        {search.loaded === 'ready' && !search.hits.length && <p className="muted pad">No messages match.</p>}
        {groups(search.hits).map((g) => (
          <section key={g.key} className="hit-group" aria-label={`In ${g.label}`}>
            <h2 className="hit-channel small">{g.label}</h2>
            <ol className="messages hits">
              {g.hits.map((h) => (
                <li key={h.message_id} className="msg hit" data-message-id={h.message_id}>
                  <button type="button" className="hit-open" onClick={() => void openHit(h)}>
                    <span className="meta">
                      <span className="author">{h.author_name}</span>
                      <time dateTime={new Date(h.created_at_ms).toISOString()}>{formatTime(h.created_at_ms)}</time>
                      {h.thread_root_id && <span className="muted small">in a thread</span>}
                    </span>
                    <Snippet hit={h} />
                  </button>
                </li>
              ))}
            </ol>
          </section>
        ))}
        {search.nextCursor && (
          <p className="pad">
            <button type="button" onClick={() => void moreResults()} disabled={search.loadingMore}>
              {search.loadingMore ? 'Loading…' : 'More results'}
            </button>
          </p>
        )}
      </div>
    </section>
  );
}
