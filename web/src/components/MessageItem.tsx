// One message: author line (unless grouped), markdown body, edited/deleted state, reactions,
// thread summary, and actions (react, reply in thread, edit, delete).

import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { rightsFor, setPinned } from '../actions/channel';
import { deleteMessage, editMessage, openThread, toggleReaction } from '../actions/messages';
import { displayEmoji } from '../emoji';
import { formatTime } from '../format';
import { fromWire, toWire } from '../mentions';
import { renderMarkdown } from '../markdown';
import { nameOf, update, useStore } from '../store';
import type { Message } from '../types';
import { EmojiPicker } from './EmojiPicker';
import { Attachments, Blocks } from './Blocks';
import { MessageFiles } from './Files';
import { PresenceDot } from './PresenceDot';
import { Avatar } from './Avatar';

/** A message only this user sees: the app's name, the body, and a way to dismiss it. */
export function EphemeralItem({ m }: { m: Message }) {
  const name = m.bot?.name ?? nameOf(m.author_id) ?? 'someone';
  const at = new Date(m.created_at_ms);
  return (
    <li className="msg ephemeral" data-message-id={m.id}>
      <div className="gutter">
        <Avatar userId={m.author_id} bot={m.bot} />
      </div>
      <div className="content">
        <div className="meta">
          <span className="author">{name}</span>
          {m.bot && <span className="app-badge">APP</span>}
          <time dateTime={at.toISOString()}>{formatTime(m.created_at_ms)}</time>
          <span className="muted small">Only visible to you</span>
        </div>
        <MessageBody m={m} />
        <button
          type="button"
          className="link small"
          onClick={() =>
            update((s) => {
              s.ephemeral = s.ephemeral.filter((x) => x.id !== m.id);
            })
          }
        >
          Dismiss
        </button>
      </div>
    </li>
  );
}

/** Taller than this, a message shows its first part and a "Show more" button. */
const COLLAPSE_ABOVE_PX = 320;

export function MessageBody({ m }: { m: Message }) {
  const s = useStore();
  const body = useRef<HTMLDivElement>(null);
  const [long, setLong] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const bodyId = useId();
  useLayoutEffect(() => {
    const el = body.current;
    if (el) setLong(el.scrollHeight > COLLAPSE_ABOVE_PX);
  }, [m.text, m.deleted]);
  if (m.deleted) return <p className="deleted">This message was deleted.</p>;
  const collapsed = long && !expanded;
  return (
    <>
      <div ref={body} className={`md${collapsed ? ' collapsed' : ''}`} id={bodyId}>
        {/* As in Slack, blocks are shown instead of the text (which then serves
            notifications and search). */}
        {m.blocks?.length ? <Blocks blocks={m.blocks} /> : renderMarkdown(m.text, { nameOf, me: s.me?.id })}
        {m.edited_at_ms != null && (
          <span className="edited" title={new Date(m.edited_at_ms).toLocaleString()}>
            (edited)
          </span>
        )}
      </div>
      {!!m.attachments?.length && <Attachments attachments={m.attachments} />}
      {!!m.files?.length && <MessageFiles files={m.files} />}
      {long && (
        <button type="button" className="link small show-more" aria-expanded={expanded} aria-controls={bodyId} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : 'Show more'}
        </button>
      )}
    </>
  );
}

function Reactions({ m }: { m: Message }) {
  const s = useStore();
  if (!m.reactions?.length) return null;
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {m.reactions.map((r) => {
        const mine = !!s.me && r.user_ids.includes(s.me.id);
        const who = r.user_ids.map((u) => nameOf(u) ?? 'someone').join(', ');
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction${mine ? ' mine' : ''}`}
            aria-pressed={mine}
            aria-label={`${displayEmoji(r.emoji)} ${r.count}: ${who}`}
            title={who}
            onClick={() => void toggleReaction(m, r.emoji)}
          >
            <span aria-hidden="true">{displayEmoji(r.emoji)}</span> <span aria-hidden="true">{r.count}</span>
          </button>
        );
      })}
    </div>
  );
}

function Editor({ m, onDone }: { m: Message; onDone: () => void }) {
  // Mentions read as @Name here too, and go back to tokens when saved.
  const [{ text: initial, mentions }] = useState(() => fromWire(m.text, nameOf));
  const [text, setText] = useState(initial);
  const save = async () => {
    const wire = toWire(text, mentions);
    if (!wire.trim() || wire === m.text) return onDone();
    if (await editMessage(m, wire)) onDone();
  };
  return (
    <div className="editor">
      <label className="sr-only" htmlFor={`edit-${m.id}`}>
        Edit message
      </label>
      <textarea
        id={`edit-${m.id}`}
        autoFocus
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onDone();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void save();
          }
        }}
      />
      <div className="row small">
        <button type="button" className="primary small" onClick={() => void save()}>
          Save
        </button>
        <button type="button" className="small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function MessageItem({ m, grouped = false, inThread = false }: { m: Message; grouped?: boolean; inThread?: boolean }) {
  const s = useStore();
  const [picker, setPicker] = useState(false);
  const editing = s.editingId === m.id;
  const setEditing = (on: boolean) =>
    update((st) => {
      st.editingId = on ? m.id : st.editingId === m.id ? null : st.editingId;
    });
  const reactBtn = useRef<HTMLButtonElement>(null);
  // A search hit opened here: bring it into view once it is rendered.
  const focusRef = useRef<HTMLLIElement>(null);
  const isFocus = s.focusId === m.id;
  useEffect(() => {
    if (isFocus) focusRef.current?.scrollIntoView({ block: 'center' });
  }, [isFocus]);
  const mine = m.author_id === s.me?.id;
  const name = m.bot?.name ?? nameOf(m.author_id) ?? 'someone';
  const at = new Date(m.created_at_ms);
  const ws = s.workspaces.find((w) => w.id === s.wsId);
  const canDelete = mine || ws?.role === 'owner' || ws?.role === 'admin';
  const ch = s.channels.get(m.channel_id);
  const canPin = !!ch && rightsFor(ch).pin;
  const focused = s.focusId === m.id;
  return (
    <li
      ref={focusRef}
      className={`msg${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}${focused ? ' focused' : ''}`}
      data-message-id={m.id}
      data-seq={m.seq}
      aria-current={focused ? 'true' : undefined}
    >
      <div className="gutter">
        {grouped ? (
          <time className="hover-time" dateTime={at.toISOString()}>
            {formatTime(m.created_at_ms)}
          </time>
        ) : (
          <Avatar userId={m.author_id} bot={m.bot} />
        )}
      </div>
      <div className="content">
        {grouped ? (
          <span className="sr-only">{name}</span>
        ) : (
          <div className="meta">
            <span className="author">{name}</span>
            {m.bot ? (
              <span className="app-badge" title="Posted by an integration">
                APP
              </span>
            ) : (
              <PresenceDot userId={m.author_id} />
            )}
            <time dateTime={at.toISOString()} title={at.toLocaleString()}>
              {formatTime(m.created_at_ms)}
            </time>
          </div>
        )}
        {m.pinned && !m.deleted && (
          <p className="pinned-note small" data-testid="pinned">
            Pinned
          </p>
        )}
        {!inThread && m.thread_root_id && <p className="reply-note muted small">replied to a thread</p>}
        {editing ? <Editor m={m} onDone={() => setEditing(false)} /> : <MessageBody m={m} />}
        <Reactions m={m} />
        {!inThread && !m.thread_root_id && m.reply_count > 0 && (
          <button type="button" className="thread-link" onClick={() => void openThread(m)}>
            {m.reply_count} {m.reply_count === 1 ? 'reply' : 'replies'}
          </button>
        )}
      </div>
      {!m.deleted && (
        <div className="actions" role="group" aria-label={`Actions for the message from ${name}`}>
          <button type="button" ref={reactBtn} className="icon" aria-label="Add reaction" aria-expanded={picker} onClick={() => setPicker(!picker)}>
            ☺
          </button>
          {!inThread && !m.thread_root_id && (
            <button type="button" className="icon" aria-label="Reply in thread" onClick={() => void openThread(m)}>
              ↩
            </button>
          )}
          {canPin && (
            <button
              type="button"
              className="icon"
              aria-label={m.pinned ? 'Unpin message' : 'Pin message'}
              aria-pressed={!!m.pinned}
              onClick={() => void setPinned(m, !m.pinned)}
            >
              📌
            </button>
          )}
          {mine && (
            <button type="button" className="icon" aria-label="Edit message" onClick={() => setEditing(true)}>
              ✎
            </button>
          )}
          {canDelete && (
            <button
              type="button"
              className="icon"
              aria-label="Delete message"
              onClick={() => {
                if (confirm('Delete this message?')) void deleteMessage(m);
              }}
            >
              🗑
            </button>
          )}
        </div>
      )}
      {picker && (
        <EmojiPicker
          onPick={(e) => {
            setPicker(false);
            void toggleReaction(m, e);
            reactBtn.current?.focus();
          }}
          onClose={() => {
            setPicker(false);
            reactBtn.current?.focus();
          }}
        />
      )}
    </li>
  );
}
