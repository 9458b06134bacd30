import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { renderMarkdown, safeUrl, plainText } from './markdown';

const ANN = '0b7c5a52-3f0e-4a8e-9d55-1a2b3c4d5e6f';
const ctx = { nameOf: (id: string) => (id === ANN ? 'Ann <b>' : undefined), me: ANN };
const html = (text: string) => renderToStaticMarkup(<div>{renderMarkdown(text, ctx)}</div>);

/** Every tag name in the output, to check against the allow-list. */
const tags = (h: string) => [...h.matchAll(/<([a-z0-9]+)[\s>/]/g)].map((m) => m[1]);
/** Every attribute name inside a tag (text between tags is escaped and not looked at). */
const attrs = (h: string) =>
  [...h.matchAll(/<[a-z0-9]+((?:\s+[a-z-]+="[^"]*")*)\s*\/?>/g)].flatMap((m) =>
    [...m[1].matchAll(/([a-z-]+)="/g)].map((a) => a[1]),
  );
const ALLOWED_ATTRS = new Set(['href', 'target', 'rel', 'class', 'data-user-id', 'title', 'start']);
const ALLOWED = new Set(['div', 'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'a', 'blockquote', 'ul', 'ol', 'li', 'span']);

describe('markdown: formatting', () => {
  it('renders bold, italic, strike and code', () => {
    expect(html('**b** *i* _u_ ~~s~~ ~t~ `c`')).toBe(
      '<div><p><strong>b</strong> <em>i</em> <em>u</em> <del>s</del> <del>t</del> <code>c</code></p></div>',
    );
  });

  it('nests emphasis and leaves unmatched delimiters as text', () => {
    expect(html('**bold _and italic_**')).toBe('<div><p><strong>bold <em>and italic</em></strong></p></div>');
    expect(html('2 * 3 * 4 and snake_case_name')).toBe('<div><p>2 * 3 * 4 and snake_case_name</p></div>');
  });

  it('keeps code spans literal', () => {
    expect(html('`**not bold** <@x>`')).toBe('<div><p><code>**not bold** &lt;@x&gt;</code></p></div>');
  });

  it('renders fenced code blocks verbatim', () => {
    expect(html('before\n```\nlet a = "<b>";\n**x**\n```\nafter')).toBe(
      '<div><p>before</p><pre><code>let a = &quot;&lt;b&gt;&quot;;\n**x**</code></pre><p>after</p></div>',
    );
  });

  it('renders quotes, lists and line breaks', () => {
    expect(html('> quoted *text*\n> more')).toBe('<div><blockquote><p>quoted <em>text</em><br/>more</p></blockquote></div>');
    expect(html('- one\n- **two**')).toBe('<div><ul><li>one</li><li><strong>two</strong></li></ul></div>');
    expect(html('3. c\n4. d')).toBe('<div><ol start="3"><li>c</li><li>d</li></ol></div>');
    expect(html('line 1\nline 2\n\npara 2')).toBe('<div><p>line 1<br/>line 2</p><p>para 2</p></div>');
  });

  it('honours backslash escapes', () => {
    expect(html('\\*not italic\\*')).toBe('<div><p>*not italic*</p></div>');
  });

  it('renders shortcodes it knows and leaves the others', () => {
    expect(html(':tada: :nope:')).toBe('<div><p><span class="emoji" title=":tada:">🎉</span> :nope:</p></div>');
  });
});

describe('markdown: links', () => {
  it('renders safe links with noopener and a new tab', () => {
    expect(html('[docs](https://example.com/a?b=1)')).toBe(
      '<div><p><a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer">docs</a></p></div>',
    );
    expect(html('see https://example.com/x.')).toBe(
      '<div><p>see <a href="https://example.com/x" target="_blank" rel="noopener noreferrer">https://example.com/x</a>.</p></div>',
    );
    expect(html('[mail](mailto:a@example.com)')).toContain('href="mailto:a@example.com"');
  });

  it('keeps escaped brackets in a link text (a Slack label holding brackets)', () => {
    expect(html('[build \\[42\\] log](https://ci.example/42)')).toBe(
      '<div><p><a href="https://ci.example/42" target="_blank" rel="noopener noreferrer">build [42] log</a></p></div>',
    );
    // An unescaped bracket still ends the attempt: no link, the source as text.
    expect(html('[a [b](https://x.example)')).toContain('[a ');
  });

  it('refuses javascript:, data: and other schemes, showing the source as text', () => {
    for (const text of [
      '[x](javascript:alert(1))',
      '[x](JavaScript:alert(1))',
      '[x](data:text/html,<script>alert(1)</script>)',
      '[x](vbscript:msgbox)',
      '[x](//evil.example/)',
      '[x](/relative)',
      '[x](java\tscript:alert(1))',
    ]) {
      const h = html(text);
      expect(h, text).not.toContain('<a');
      expect(h, text).not.toMatch(/href=/);
    }
    expect(html('[x](javascript:alert(1))')).toBe('<div><p>[x](javascript:alert(1))</p></div>');
  });

  it('safeUrl accepts only absolute http, https and mailto', () => {
    expect(safeUrl('https://a.example/')).toBe('https://a.example/');
    expect(safeUrl('http://a.example')).toBe('http://a.example/');
    expect(safeUrl('mailto:x@y.z')).toBe('mailto:x@y.z');
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl(' javascript:alert(1)')).toBeNull();
    expect(safeUrl('file:///etc/passwd')).toBeNull();
    expect(safeUrl('https://a.example/\u0000')).toBeNull();
  });
});

describe('markdown: no HTML passes through', () => {
  const payloads = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '<a href="javascript:alert(1)">x</a>',
    '"><svg onload=alert(1)>',
    '**<iframe src=javascript:alert(1)>**',
    '[<img src=x onerror=alert(1)>](https://example.com)',
    '> <style>body{display:none}</style>',
    '<@' + ANN + '><img src=x>',
  ];
  for (const p of payloads) {
    it(`escapes ${JSON.stringify(p)}`, () => {
      const h = html(p);
      for (const t of tags(h)) expect(ALLOWED.has(t), `tag <${t}> in ${h}`).toBe(true);
      for (const a of attrs(h)) expect(ALLOWED_ATTRS.has(a), `attribute ${a} in ${h}`).toBe(true);
      // Every '<' that is not one of our tags was escaped.
      expect(h.replace(/<\/?[a-z0-9]+(\s+[a-z-]+="[^"]*")*\s*\/?>/g, '')).not.toContain('<');
      expect(h).not.toMatch(/href="(?!https?:|mailto:)/);
    });
  }

  it('shows an HTML payload as its literal text', () => {
    expect(html('<img src=x onerror=alert(1)>')).toBe('<div><p>&lt;img src=x onerror=alert(1)&gt;</p></div>');
  });
});

describe('markdown: mentions', () => {
  it('renders <@id> as an @DisplayName chip, escaped', () => {
    expect(html(`hi <@${ANN}>!`)).toBe(
      `<div><p>hi <span class="mention mention-me" data-user-id="${ANN}">@Ann &lt;b&gt;</span>!</p></div>`,
    );
    expect(html('<@11111111-2222-3333-4444-555555555555>')).toContain('@unknown user');
  });

  it('highlights @channel and @here but not inside words', () => {
    expect(html('@here now')).toBe('<div><p><span class="mention mention-all">@here</span> now</p></div>');
    expect(html('mail@channel.example')).toBe('<div><p>mail@channel.example</p></div>');
  });

  it('plainText names mentions', () => {
    expect(plainText(`hi <@${ANN}>`, ctx)).toBe('hi @Ann <b>');
  });
});
