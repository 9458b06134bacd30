// Writing a message: Enter sends, Shift+Enter adds a line, a preview of the markdown,
// @-mention completion that inserts `<@user-id>` (shown as @Name once posted), and slash
// commands: `/name text` completed from the workspace's commands and invoked instead of posted.

import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { send } from '../actions/messages';
import { resetTyping, sendTyping } from '../realtime';
import { renderMarkdown } from '../markdown';
import { lastOwn } from '../format';
import { nameOf, state, update, useStore } from '../store';
import { MAX_MESSAGE_BYTES } from '../limits';
import { toWire, type Mention } from '../mentions';
import { EmojiPicker } from './EmojiPicker';
import { addFiles, composerKey, removeUpload, takeReady } from '../actions/files';
import { formatSize } from '../uploads';
import { PaperClip } from './Common';
import { commandLabel, commandQuery, matchCommands, parseOutgoing } from '../commands';
import { loadCommands, runCommand } from '../actions/integrations';

interface Suggestion {
  kind: 'mention' | 'command';
  key: string;
  label: string;
  insert: string;
  /** For a person: the token sent in place of `insert` (`@Name`). */
  token?: string;
}

/** From this many bytes left, the composer shows how many remain. */
const SHOW_LEFT_FROM = 1000;

/** UTF-8 bytes, as the server counts its limit. */
const byteLength = (s: string) => new TextEncoder().encode(s).length;

const SPECIAL: Suggestion[] = [
  { kind: 'mention', key: 'channel', label: '@channel (everyone in the channel)', insert: '@channel' },
  { kind: 'mention', key: 'here', label: '@here (everyone online)', insert: '@here' },
];

export interface ComposerProps {
  channelId: string;
  threadRootId?: string | null;
  label: string;
  id?: string;
  autoFocus?: boolean;
  channelName?: string;
}

export function Composer({ channelId, threadRootId = null, label, id, autoFocus, channelName }: ComposerProps) {
  const s = useStore();
  const uid = useId();
  const inputId = id ?? `composer-${uid}`;
  const listId = `${inputId}-mentions`;
  const [text, setText] = useState('');
  const [preview, setPreview] = useState(false);
  const [alsoToChannel, setAlsoToChannel] = useState(false);
  const [query, setQuery] = useState<string | null>(null);
  /** The command name being typed (after a leading `/`), or null. */
  const [cmdQuery, setCmdQuery] = useState<string | null>(null);
  /** A command is being invoked: its name, while the app answers. */
  const [running, setRunning] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const [error, setError] = useState('');
  const [mentions, setMentions] = useState<Mention[]>([]);
  const [emoji, setEmoji] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  // Where the caret goes once a completion or an emoji is in the text: set as React commits
  // it, before the next key is handled (in a later frame, a fast typist's next key landed
  // before the caret moved, at the old position).
  const caretAfter = useRef<number | null>(null);
  useLayoutEffect(() => {
    const el = input.current;
    const at = caretAfter.current;
    if (!el || at == null) return;
    caretAfter.current = null;
    el.focus();
    el.setSelectionRange(at, at);
  }, [text]);
  // Up in the empty box edits our last message; when that edit ends, typing resumes here.
  const editedFromHere = useRef(false);
  useEffect(() => {
    if (s.editingId === null && editedFromHere.current) {
      editedFromHere.current = false;
      input.current?.focus();
    }
  }, [s.editingId]);

  useEffect(() => {
    if (autoFocus) input.current?.focus();
  }, [autoFocus, channelId, threadRootId]);

  // Grow with the text, up to a limit.
  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text, preview]);

  const members = ((s.wsId ? s.members.get(s.wsId) : undefined) ?? []).filter((m) => !m.deactivated);
  const commands = (s.wsId ? s.commands.get(s.wsId)?.list : undefined) ?? [];
  const suggestions: Suggestion[] =
    cmdQuery != null
      ? matchCommands(cmdQuery, commands).map((c) => ({ kind: 'command', key: c.name, label: commandLabel(c), insert: `/${c.name} ` }))
      : query == null
        ? []
        : [
            ...members
              .filter((m) => m.display_name.toLowerCase().includes(query.toLowerCase()))
              .map((m): Suggestion => ({
                kind: 'mention',
                key: m.user_id,
                label: m.display_name,
                insert: `@${m.display_name}`,
                token: `<@${m.user_id}>`,
              })),
            ...SPECIAL.filter((x) => x.key.startsWith(query.toLowerCase())),
          ].slice(0, 8);
  const open = suggestions.length > 0;
  const commandList = cmdQuery != null;

  function onChange(value: string) {
    setText(value);
    if (!value) setMentions([]);
    setError('');
    const el = input.current;
    const caret = el ? el.selectionStart : value.length;
    const m = /(?:^|\s)@([\p{L}\p{N}_.-]{0,30})$/u.exec(value.slice(0, caret));
    setQuery(m ? m[1] : null);
    const cq = commandQuery(value, caret);
    setCmdQuery(cq);
    if (cq != null && s.wsId) void loadCommands(s.wsId);
    setActive(0);
    // A command is not a message being written: the others are not told of it.
    if (value.trim() && parseOutgoing(value).kind === 'message') sendTyping(channelId);
  }

  function complete(sug: Suggestion) {
    const el = input.current;
    const caret = el ? el.selectionStart : text.length;
    if (sug.kind === 'command') {
      // `/dep|` becomes `/deploy |`, keeping what followed the name.
      setText(sug.insert + text.slice(caret).replace(/^\s+/, ''));
      setCmdQuery(null);
      caretAfter.current = sug.insert.length;
      return;
    }
    const before = text.slice(0, caret).replace(/@[\p{L}\p{N}_.-]{0,30}$/u, `${sug.insert} `);
    const next = before + text.slice(caret);
    setText(next);
    if (sug.token && !mentions.some((m) => m.label === sug.insert && m.token === sug.token)) {
      setMentions([...mentions, { label: sug.insert, token: sug.token }]);
    }
    setQuery(null);
    caretAfter.current = before.length;
  }

  /** Puts `s` where the caret was (the picker took the focus meanwhile) and returns to typing. */
  function insertAtCaret(s: string) {
    const el = input.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? start;
    setText(text.slice(0, start) + s + text.slice(end));
    caretAfter.current = start + s.length;
  }

  // What would be sent, and how far it is from the server's limit.
  const wire = toWire(text.replace(/\s+$/, ''), mentions);
  const left = MAX_MESSAGE_BYTES - byteLength(wire);

  const uploads = s.uploads.get(composerKey(channelId, threadRootId)) ?? [];
  const uploading = uploads.some((u) => u.status === 'uploading');
  const readyFiles = uploads.filter((u) => u.status === 'ready').length;

  function submit() {
    if (!wire.trim() && !readyFiles) return;
    const out = parseOutgoing(wire);
    if (out.kind === 'command') {
      invoke(out.name, out.text);
      return;
    }
    if (left < 0) {
      setError(`This message is ${-left} bytes over the limit (16 KB). Shorten it, or split it in two.`);
      return;
    }
    if (uploading) {
      setError('Wait for the uploads to finish, or remove them.');
      return;
    }
    setError('');
    send(channelId, out.text, threadRootId, threadRootId ? alsoToChannel : false, takeReady(channelId, threadRootId));
    resetTyping();
    setText('');
    setMentions([]);
    setQuery(null);
    setCmdQuery(null);
    setPreview(false);
    input.current?.focus();
  }

  /** Invokes `/name text`: the box empties once the app has answered, and keeps the text on a refusal. */
  function invoke(name: string, args: string) {
    if (running) return;
    if (left < 0) {
      setError(`This command is ${-left} bytes over the limit (16 KB). Shorten it.`);
      return;
    }
    if (readyFiles || uploading) {
      setError('A command cannot take files: send them in a message, or remove them.');
      return;
    }
    setError('');
    setQuery(null);
    setCmdQuery(null);
    setRunning(name);
    const typed = text;
    runCommand(channelId, name, args, threadRootId).then(
      () => {
        // Unless the user went on typing meanwhile.
        if (input.current?.value === typed) {
          setText('');
          setMentions([]);
          setPreview(false);
        }
        setRunning(null);
        input.current?.focus();
      },
      (e: unknown) => {
        setError((e as Error).message);
        setRunning(null);
        input.current?.focus();
      },
    );
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = suggestions.length;
        setActive((active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        complete(suggestions[active] ?? suggestions[0]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setQuery(null);
        setCmdQuery(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
      return;
    }
    if (e.key === 'ArrowUp' && text === '' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      const shown = threadRootId
        ? [...(state.threads.get(threadRootId)?.replies.values() ?? [])]
        : [...(state.views.get(channelId)?.messages.values() ?? [])];
      const last = lastOwn(shown, state.me?.id);
      if (!last) return;
      e.preventDefault();
      editedFromHere.current = true;
      update((st) => {
        st.editingId = last.id;
      });
    }
  }

  return (
    <form
      className={`composer${dragging ? ' dropping' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        e.stopPropagation();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        if (!e.dataTransfer.files.length) return;
        e.preventDefault();
        e.stopPropagation();
        setDragging(false);
        addFiles(channelId, threadRootId, e.dataTransfer.files);
      }}
    >
      {uploads.length > 0 && (
        <ul className="attachments" aria-label="Attached files">
          {uploads.map((u) => (
            <li key={u.key} className={`attachment ${u.status}`} data-status={u.status} data-name={u.name}>
              <span className="attachment-name">{u.name}</span>
              <span className="muted small">{formatSize(u.size)}</span>
              {u.status === 'uploading' && (
                <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} />
              )}
              {u.status === 'failed' && (
                <span className="form-error small" role="alert">
                  {u.error}
                </span>
              )}
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove ${u.name}`}
                onClick={() => removeUpload(channelId, threadRootId, u)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      {preview && (
        <div className="preview md" aria-label="Preview">
          {wire.trim() ? renderMarkdown(wire, { nameOf, me: s.me?.id }) : <p className="muted">Nothing to preview.</p>}
        </div>
      )}
      <div className="composer-row">
        <label htmlFor={inputId} className="sr-only">
          {label}
        </label>
        <textarea
          id={inputId}
          ref={input}
          rows={1}
          value={text}
          placeholder={label}
          aria-describedby={`${inputId}-hint ${inputId}-left`}
          aria-invalid={left < 0}
          role="combobox"
          aria-expanded={open}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            // A pasted screenshot is a file to attach, not text.
            if (!e.clipboardData.files.length) return;
            e.preventDefault();
            addFiles(channelId, threadRootId, e.clipboardData.files);
          }}
          onBlur={() =>
            // Closes the list once the focus stayed away (not if it came back and typing
            // opened the list again meanwhile).
            setTimeout(() => {
              if (document.activeElement !== input.current) {
                setQuery(null);
                setCmdQuery(null);
              }
            }, 150)
          }
        />
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid={`${inputId}-files`}
          onChange={(e) => {
            if (e.target.files?.length) addFiles(channelId, threadRootId, e.target.files);
            e.target.value = '';
          }}
        />
        <button type="button" className="small" aria-label="Attach files" onClick={() => picker.current?.click()}>
          <PaperClip />
        </button>
        <button type="button" className="small" aria-label="Insert emoji" aria-expanded={emoji} onClick={() => setEmoji(!emoji)}>
          <span aria-hidden="true">☺</span>
        </button>
        <button type="button" className="small" aria-pressed={preview} onClick={() => setPreview(!preview)}>
          Preview
        </button>
        <button type="submit" className="primary" disabled={left < 0 || uploading || running != null}>
          Send
        </button>
      </div>
      <p id={`${inputId}-left`} className={`left small${left < 0 ? ' over' : ''}`} data-testid="left" aria-live="polite">
        {left < 0 ? `${(-left).toLocaleString('en')} bytes over the limit` : left <= SHOW_LEFT_FROM ? `${left.toLocaleString('en')} bytes left` : ''}
      </p>
      {emoji && (
        <EmojiPicker
          label="Insert an emoji"
          onPick={(e) => {
            setEmoji(false);
            insertAtCaret(e);
          }}
          onClose={() => {
            setEmoji(false);
            input.current?.focus();
          }}
        />
      )}
      {open && (
        <ul className="mentions" role="listbox" id={listId} aria-label={commandList ? 'Commands' : 'People to mention'}>
          {suggestions.map((sug, i) => (
            <li
              key={sug.key}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                complete(sug);
              }}
            >
              {sug.label}
            </li>
          ))}
        </ul>
      )}
      {threadRootId && (
        <label className="check small">
          <input type="checkbox" checked={alsoToChannel} onChange={(e) => setAlsoToChannel(e.target.checked)} /> Also send
          to {channelName ? `#${channelName}` : 'the channel'}
        </label>
      )}
      <span id={`${inputId}-hint`} className="sr-only">
        Enter sends, Shift+Enter adds a new line. Type @ to mention someone, / for an app&apos;s commands. Markdown works:
        **bold**, *italic*, `code`.
      </span>
      {running && (
        <p className="muted small" role="status">
          Running /{running}…
        </p>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
