import { afterEach, describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { Avatar } from './Avatar';
import { resetState, state } from '../store';

const PIC = '/api/v1/avatars/0b7c1e9e-2c41-4c61-9d1f-3f0e4a8c9b11';

afterEach(() => resetState({ kind: 'app' }));

function withPeople(bobAvatar: string) {
  state.me = { id: 'me', display_name: 'ann', avatar_url: PIC };
  state.wsId = 'w';
  state.members.set('w', [{ user_id: 'bob', display_name: 'Bob', avatar_url: bobAvatar }]);
  state.names.set('bob', 'Bob');
}

describe('Avatar', () => {
  it('shows an uploaded picture from our origin, decoratively', () => {
    withPeople(PIC);
    const h = renderToStaticMarkup(<Avatar userId="bob" size="small" />);
    expect(h).toContain(`src="${PIC}"`);
    expect(h).toContain('alt=""');
    expect(h).toContain('class="avatar avatar-img avatar-small"');
    expect(renderToStaticMarkup(<Avatar userId="me" />)).toContain(`src="${PIC}"`);
  });

  it("shows the initial for no picture or another host's", () => {
    for (const url of ['', 'https://evil.example/a.png']) {
      withPeople(url);
      const h = renderToStaticMarkup(<Avatar userId="bob" />);
      expect(h).not.toContain('<img');
      expect(h).toMatch(/<span class="avatar hue-\d+" aria-hidden="true"[^>]*>B<\/span>/);
    }
  });

  it('shows nothing without a picture when asked for the image only', () => {
    withPeople('');
    expect(renderToStaticMarkup(<Avatar userId="bob" imageOnly />)).toBe('');
  });

  it("shows an app's icon for its bot", () => {
    withPeople(PIC);
    const h = renderToStaticMarkup(<Avatar userId="bob" bot={{ app_id: 'a', name: 'CI', icon_emoji: ':rocket:' }} />);
    expect(h).toContain('bot-icon');
    expect(h).not.toContain('<img');
  });
});
