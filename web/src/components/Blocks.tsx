// What integrations post beyond text: Block Kit blocks (section, context, divider, header,
// image) and legacy attachments. Markdown texts were converted from Slack's mrkdwn by the
// server and render like message text; plain texts render as text. Pictures from other
// sites are links, not images: loading them would tell those sites who reads the channel.

import type { ReactNode } from 'react';
import { renderMarkdown, safeUrl } from '../markdown';
import { nameOf, useStore } from '../store';
import type { Attachment, Block, BlockImage, TextObject } from '../types';

function Text({ t }: { t: TextObject }) {
  const s = useStore();
  if (t.type === 'plain_text') return <span className="plain">{t.text}</span>;
  return <>{renderMarkdown(t.text, { nameOf, me: s.me?.id })}</>;
}

function ImageLink({ image }: { image: BlockImage }) {
  const href = safeUrl(image.image_url);
  const label = `Image: ${image.alt_text || 'untitled'}`;
  return href ? (
    <a className="block-image" href={href} target="_blank" rel="noopener noreferrer">
      {label}
    </a>
  ) : (
    <span className="block-image">{label}</span>
  );
}

function OneBlock({ b }: { b: Block }): ReactNode {
  switch (b.type) {
    case 'header':
      return (
        <p className="block-header">
          <Text t={b.text} />
        </p>
      );
    case 'divider':
      return <hr className="block-divider" />;
    case 'section':
      return (
        <div className="block-section">
          {b.text && (
            <div className="md">
              <Text t={b.text} />
            </div>
          )}
          {!!b.fields?.length && (
            <div className="block-fields">
              {b.fields.map((f, i) => (
                <div key={i} className="md">
                  <Text t={f} />
                </div>
              ))}
            </div>
          )}
          {b.accessory && <ImageLink image={b.accessory} />}
        </div>
      );
    case 'context':
      return (
        <div className="block-context muted small">
          {b.elements.map((e, i) => (
            <span key={i}>{e.type === 'image' ? <ImageLink image={e} /> : <Text t={e} />}</span>
          ))}
        </div>
      );
    case 'image':
      return <ImageLink image={b} />;
    default:
      return null;
  }
}

export function Blocks({ blocks }: { blocks: Block[] }) {
  return (
    <div className="blocks" data-testid="blocks">
      {blocks.map((b, i) => (
        <OneBlock key={i} b={b} />
      ))}
    </div>
  );
}

function OneAttachment({ a }: { a: Attachment }) {
  const s = useStore();
  const md = (text: string) => renderMarkdown(text, { nameOf, me: s.me?.id });
  const titleHref = a.title_link ? safeUrl(a.title_link) : null;
  const authorHref = a.author_link ? safeUrl(a.author_link) : null;
  return (
    <div className="attachment-card" style={{ borderLeftColor: a.color ?? 'var(--border)' }}>
      {a.pretext && <div className="md">{md(a.pretext)}</div>}
      {a.author_name && (
        <p className="small">
          {authorHref ? (
            <a href={authorHref} target="_blank" rel="noopener noreferrer">
              {a.author_name}
            </a>
          ) : (
            a.author_name
          )}
        </p>
      )}
      {a.title && (
        <p className="attachment-title">
          {titleHref ? (
            <a href={titleHref} target="_blank" rel="noopener noreferrer">
              {a.title}
            </a>
          ) : (
            a.title
          )}
        </p>
      )}
      {a.text && <div className="md">{md(a.text)}</div>}
      {!!a.fields?.length && (
        <div className="block-fields">
          {a.fields.map((f, i) => (
            <div key={i} className={f.short ? 'short' : 'long'}>
              {f.title && <p className="attachment-title small">{f.title}</p>}
              {f.value && <div className="md">{md(f.value)}</div>}
            </div>
          ))}
        </div>
      )}
      {!!a.blocks?.length && <Blocks blocks={a.blocks} />}
      {a.image_url && <ImageLink image={{ type: 'image', image_url: a.image_url, alt_text: a.title ?? a.fallback ?? '' }} />}
      {a.footer && <p className="muted small">{a.footer}</p>}
    </div>
  );
}

export function Attachments({ attachments }: { attachments: Attachment[] }) {
  return (
    <div className="attachments" data-testid="attachments">
      {attachments.map((a, i) => (
        <OneAttachment key={i} a={a} />
      ))}
    </div>
  );
}
