// Message search: running a query in the current workspace, more pages, and opening a hit
// where it was said (the channel scrolled to it, or its thread).

import { client } from '../client';
import { type SearchSort, notify, state, update, view } from '../store';
import type { Message, SearchHit } from '../types';
import { loadLatest, loadOlder, openThread } from './messages';
import { selectChannel } from './workspace';

const PAGE = 20;

interface Page {
  hits: SearchHit[];
  next_cursor: string | null;
}

function path(wsId: string, q: string, sort: SearchSort, cursor: string | null): string {
  const params = new URLSearchParams({ q, sort, limit: String(PAGE) });
  if (cursor) params.set('cursor', cursor);
  return `/workspaces/${wsId}/search?${params}`;
}

/** Searches the current workspace and shows the results in the main area. */
export async function runSearch(q: string, sort: SearchSort = state.search?.sort ?? 'relevance') {
  const wsId = state.wsId;
  const query = q.trim();
  if (!wsId || !query) return;
  const s = { wsId, q: query, sort, hits: [], nextCursor: null, loaded: 'loading' as const, loadingMore: false, error: '', open: true };
  update((st) => {
    st.search = s;
    st.admin = null;
    st.sidebarOpen = false;
  });
  try {
    const r = await client.call<Page>('GET', path(wsId, query, sort, null));
    if (state.search !== s) return; // another search started meanwhile
    update((st) => {
      st.search = { ...s, hits: r.hits, nextCursor: r.next_cursor, loaded: 'ready' };
    });
  } catch (e) {
    if (state.search !== s) return;
    update((st) => {
      st.search = { ...s, loaded: 'error', error: (e as Error).message };
    });
  }
}

export async function moreResults() {
  const s = state.search;
  if (!s || !s.nextCursor || s.loadingMore) return;
  update(() => {
    s.loadingMore = true;
  });
  try {
    const r = await client.call<Page>('GET', path(s.wsId, s.q, s.sort, s.nextCursor));
    update(() => {
      const seen = new Set(s.hits.map((h) => h.message_id));
      s.hits = [...s.hits, ...r.hits.filter((h) => !seen.has(h.message_id))];
      s.nextCursor = r.next_cursor;
      s.loadingMore = false;
    });
  } catch (e) {
    update(() => {
      s.loadingMore = false;
      s.error = (e as Error).message;
    });
  }
}

/** Back to the results after reading a hit, or away from them. */
export function showResults(open: boolean) {
  update((st) => {
    if (st.search) st.search.open = open;
  });
}

export function closeSearch() {
  update((st) => {
    st.search = null;
  });
}

async function until(ready: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!ready() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** Opens the hit in context: its channel scrolled to it and marked, or its thread. */
export async function openHit(hit: SearchHit) {
  showResults(false);
  update((st) => {
    st.focusId = hit.message_id;
  });
  selectChannel(hit.channel_id);
  const ch = state.channels.get(hit.channel_id);
  if (!ch?.is_member) return; // a public channel they have not joined: its Join bar shows
  if (hit.thread_root_id) {
    try {
      const r = await client.call<{ root: Message }>('GET', `/messages/${hit.thread_root_id}/thread?limit=1`);
      await openThread(r.root);
    } catch (e) {
      notify(`Could not open the thread: ${(e as Error).message}`, true);
    }
    return;
  }
  const v = view(hit.channel_id);
  if (v.loaded === 'none' || v.loaded === 'error') void loadLatest(hit.channel_id);
  await until(() => view(hit.channel_id).loaded === 'ready');
  // Older pages until the message is there (or the channel's beginning is).
  for (let i = 0; i < 100; i++) {
    const cur = view(hit.channel_id);
    if (cur.messages.has(hit.message_id) || cur.nextBefore == null || state.viewId !== hit.channel_id) break;
    if (!(await loadOlder(hit.channel_id))) break;
  }
}
