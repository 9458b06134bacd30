import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { Attachments, Blocks } from './Blocks';
import type { Attachment, Block } from '../types';

const blocks: Block[] = [
  { type: 'header', text: { type: 'plain_text', text: 'Release <script>alert(1)</script>' } },
  { type: 'section', text: { type: 'mrkdwn', text: '**3** fixes' }, fields: [{ type: 'mrkdwn', text: '_prod_' }] },
  { type: 'divider' },
  { type: 'context', elements: [{ type: 'plain_text', text: 'ci' }, { type: 'image', image_url: 'https://x.example/a.png', alt_text: 'logo' }] },
  { type: 'image', image_url: 'javascript:alert(1)', alt_text: 'sneaky' },
];

describe('blocks', () => {
  it('renders markdown texts as formatting and plain texts as text', () => {
    const h = renderToStaticMarkup(<Blocks blocks={blocks} />);
    expect(h).toContain('<strong>3</strong> fixes');
    expect(h).toContain('<em>prod</em>');
    expect(h).toContain('Release &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(h).not.toContain('<script');
    expect(h).toContain('<hr class="block-divider"/>');
  });

  it('shows pictures from elsewhere as links, and no link for an unsafe URL', () => {
    const h = renderToStaticMarkup(<Blocks blocks={blocks} />);
    expect(h).not.toContain('<img');
    expect(h).toContain('href="https://x.example/a.png"');
    expect(h).toContain('Image: logo');
    expect(h).toContain('<span class="block-image">Image: sneaky</span>');
    expect(h).not.toContain('javascript:');
  });
});

describe('attachments', () => {
  it('keeps the colour bar, links only safe URLs and renders markdown in the text', () => {
    const list: Attachment[] = [
      { color: '#e01e5a', title: 'Rollback', title_link: 'javascript:alert(1)', text: 'if **needed**', fields: [{ title: 'Env', value: 'prod', short: true }] },
    ];
    const h = renderToStaticMarkup(<Attachments attachments={list} />);
    expect(h).toContain('border-left-color:#e01e5a');
    expect(h).not.toContain('javascript:');
    expect(h).toContain('<p class="attachment-title">Rollback</p>');
    expect(h).toContain('<strong>needed</strong>');
    expect(h).toContain('class="short"');
  });
});
