// Message markdown to React elements. The output is built only from an allow-list of
// elements (p, br, strong, em, del, code, pre, a, blockquote, ul, ol, li, span); text always
// becomes React text children, which React escapes, so no HTML in a message can ever reach
// the page. There is no dangerouslySetInnerHTML anywhere in the client.
//
// Supported: **bold**, *italic* / _italic_, ~~strike~~ / ~strike~, `code`, ``` fenced
// blocks ```, [text](url) and bare http(s) links, > quotes, - / * / 1. lists, line breaks,
// <@user-id> mentions, @channel / @here / @everyone, and :shortcode: emoji. Links are
// only http:, https: and mailto:, and open in a new tab with rel="noopener noreferrer".

import { Fragment, type ReactNode } from 'react';
import { emojiFor } from './emoji';

export interface MarkdownContext {
  /** Display name of a user id, if known. */
  nameOf: (userId: string) => string | undefined;
  /** The reader, whose mentions are highlighted. */
  me?: string;
}

const ALLOWED_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
const MAX_DEPTH = 6;

/** The link target if it is an absolute http(s) or mailto URL; null for anything else. */
export function safeUrl(raw: string): string | null {
  const t = raw.trim();
  // Whitespace and control characters are stripped by URL parsers, which could turn
  // "java\tscript:" into "javascript:"; refuse them instead.
  // eslint-disable-next-line no-control-regex
  if (!t || /[\u0000-\u0020\u007f-\u009f]/.test(t)) return null;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return null;
  }
  return ALLOWED_SCHEMES.has(u.protocol) ? u.href : null;
}

class Keys {
  private n = 0;
  next() {
    return `k${this.n++}`;
  }
}

export function renderMarkdown(text: string, ctx: MarkdownContext): ReactNode {
  const keys = new Keys();
  return blocks(text.replace(/\r\n?/g, '\n').split('\n'), ctx, keys, 0);
}

const FENCE = /^\s{0,3}```/;
const QUOTE = /^\s{0,3}>\s?/;
const BULLET = /^\s{0,3}[-*+]\s+/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+/;

function isBlockStart(line: string) {
  return FENCE.test(line) || QUOTE.test(line) || BULLET.test(line) || ORDERED.test(line);
}

function blocks(lines: string[], ctx: MarkdownContext, keys: Keys, depth: number): ReactNode[] {
  const out: ReactNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    if (FENCE.test(line)) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !FENCE.test(lines[i])) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      out.push(
        <pre key={keys.next()}>
          <code>{body.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].replace(QUOTE, ''));
      out.push(
        <blockquote key={keys.next()}>
          {depth < MAX_DEPTH ? blocks(body, ctx, keys, depth + 1) : body.join('\n')}
        </blockquote>,
      );
      continue;
    }
    const ordered = ORDERED.exec(line);
    if (ordered || BULLET.test(line)) {
      const re = ordered ? ORDERED : BULLET;
      const items: ReactNode[] = [];
      while (i < lines.length && re.test(lines[i])) {
        items.push(<li key={keys.next()}>{inline(lines[i].replace(re, ''), ctx, keys, depth)}</li>);
        i++;
      }
      const start = ordered ? Number(ordered[1]) : 1;
      out.push(
        ordered ? (
          <ol key={keys.next()} start={start === 1 ? undefined : start}>
            {items}
          </ol>
        ) : (
          <ul key={keys.next()}>{items}</ul>
        ),
      );
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !(para.length && isBlockStart(lines[i]))) para.push(lines[i++]);
    const children: ReactNode[] = [];
    para.forEach((l, n) => {
      if (n > 0) children.push(<br key={keys.next()} />);
      children.push(<Fragment key={keys.next()}>{inline(l, ctx, keys, depth)}</Fragment>);
    });
    out.push(<p key={keys.next()}>{children}</p>);
  }
  return out;
}

const MENTION = /^<@([0-9a-fA-F-]{36})>/;
const SPECIAL = /^@(channel|here|everyone)\b/;
const AUTOLINK = /^https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]]/;
const SHORTCODE = /^:([a-z0-9_+-]{1,64}):/;
const PUNCT = /[!-/:-@[-`{-~]/;

const isWord = (c: string | undefined) => !!c && /[\p{L}\p{N}_]/u.test(c);

/** Where a closing delimiter `d` for an opener ending at `from` is, or -1. */
function closing(s: string, d: string, from: number): number {
  if (from >= s.length || s[from] === ' ') return -1;
  let j = s.indexOf(d, from + 1);
  while (j !== -1) {
    const okBefore = s[j - 1] !== ' ' && s[j - 1] !== '\\';
    // For single-character delimiters, a doubled one belongs to another span.
    const okAfter = d.length > 1 || s[j + 1] !== d;
    const wordOk = d !== '_' || !isWord(s[j + 1]);
    if (okBefore && okAfter && wordOk) return j;
    j = s.indexOf(d, j + 1);
  }
  return -1;
}

/** `[text](url)` at `i`: the text, the url and where it ends; null if not a link. A
 * backslash-escaped bracket belongs to the text (what a Slack label holding brackets
 * becomes). */
function linkAt(s: string, i: number): { text: string; url: string; end: number } | null {
  let close = -1;
  for (let j = i + 1; j < s.length - 1; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '[') return null;
    else if (s[j] === ']' && s[j + 1] === '(') {
      close = j;
      break;
    }
  }
  if (close === -1) return null;
  let depth = 0;
  for (let j = close + 2; j < s.length; j++) {
    const c = s[j];
    if (c === ' ' || c === '\n') return null;
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return { text: s.slice(i + 1, close), url: s.slice(close + 2, j), end: j + 1 };
      depth--;
    }
  }
  return null;
}

function anchor(href: string, children: ReactNode, key: string) {
  return (
    <a key={key} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  );
}

function inline(s: string, ctx: MarkdownContext, keys: Keys, depth: number, inLink = false): ReactNode[] {
  const out: ReactNode[] = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push(buf);
    buf = '';
  };
  const nested = (inner: string) => (depth < MAX_DEPTH ? inline(inner, ctx, keys, depth + 1, inLink) : [inner]);
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const rest = s.slice(i);
    if (c === '\\' && i + 1 < s.length && PUNCT.test(s[i + 1])) {
      buf += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      let n = 1;
      while (s[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      const end = s.indexOf(fence, i + n);
      if (end !== -1) {
        flush();
        out.push(<code key={keys.next()}>{s.slice(i + n, end)}</code>);
        i = end + n;
        continue;
      }
      buf += fence;
      i += n;
      continue;
    }
    if (c === '<') {
      const m = MENTION.exec(rest);
      if (m) {
        flush();
        const id = m[1].toLowerCase();
        const name = ctx.nameOf(id);
        out.push(
          <span key={keys.next()} className={id === ctx.me ? 'mention mention-me' : 'mention'} data-user-id={id}>
            @{name ?? 'unknown user'}
          </span>,
        );
        i += m[0].length;
        continue;
      }
    }
    if (c === '@' && !isWord(s[i - 1])) {
      const m = SPECIAL.exec(rest);
      if (m) {
        flush();
        out.push(
          <span key={keys.next()} className="mention mention-all">
            {m[0]}
          </span>,
        );
        i += m[0].length;
        continue;
      }
    }
    if (c === '[' && !inLink) {
      const l = linkAt(s, i);
      if (l) {
        const href = safeUrl(l.url);
        if (href && l.text) {
          flush();
          out.push(anchor(href, inline(l.text, ctx, keys, depth + 1, true), keys.next()));
          i = l.end;
          continue;
        }
        // Not a safe link: shown exactly as typed.
        buf += s.slice(i, l.end);
        i = l.end;
        continue;
      }
    }
    if (c === 'h' && !inLink && !isWord(s[i - 1])) {
      const m = AUTOLINK.exec(rest);
      const href = m && safeUrl(m[0]);
      if (m && href) {
        flush();
        out.push(anchor(href, m[0], keys.next()));
        i += m[0].length;
        continue;
      }
    }
    if (c === ':') {
      const m = SHORTCODE.exec(rest);
      const e = m && emojiFor(m[1]);
      if (m && e) {
        flush();
        out.push(
          <span key={keys.next()} className="emoji" title={m[0]}>
            {e}
          </span>,
        );
        i += m[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_' || c === '~') {
      const double = s[i + 1] === c;
      const d = double ? c + c : c;
      const leftOk = c !== '_' || !isWord(s[i - 1]);
      const end = leftOk ? closing(s, d, i + d.length) : -1;
      if (end !== -1 && end > i + d.length) {
        flush();
        const inner = nested(s.slice(i + d.length, end));
        const key = keys.next();
        if (c === '~') out.push(<del key={key}>{inner}</del>);
        else if (double) out.push(<strong key={key}>{inner}</strong>);
        else out.push(<em key={key}>{inner}</em>);
        i = end + d.length;
        continue;
      }
      buf += d;
      i += d.length;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

/** Message text as plain text (notifications, titles): mentions as @Name, no markup. */
export function plainText(text: string, ctx: MarkdownContext): string {
  return text.replace(/<@([0-9a-fA-F-]{36})>/g, (_, id: string) => `@${ctx.nameOf(id.toLowerCase()) ?? 'unknown user'}`);
}
