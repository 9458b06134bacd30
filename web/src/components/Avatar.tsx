// A person's picture: their uploaded avatar (`/api/v1/avatars/{id}` on our origin, which
// redirects to the stored thumbnail), else their initial on a colour of their own; an app's
// icon emoji for its bot. Decorative next to a name (`alt=""`), so screen readers read the
// name once.

import { useState } from 'react';
import { avatarSrc, hueOf, initialOf } from '../avatar';
import { displayEmoji } from '../emoji';
import { avatarUrlOf, nameOf, useStore } from '../store';
import type { Message } from '../types';

/** Hues as classes (no inline styles): 24 steps of 15 degrees. */
const hueClass = (id: string) => `hue-${Math.floor(hueOf(id) / 15)}`;

export function Avatar({
  userId,
  bot,
  size = 'normal',
  imageOnly = false,
}: {
  userId: string;
  bot?: Message['bot'];
  size?: 'normal' | 'small' | 'large';
  /** Nothing without an uploaded picture (where the initial would only repeat the name). */
  imageOnly?: boolean;
}) {
  useStore();
  const [broken, setBroken] = useState('');
  const sizeClass = size === 'normal' ? '' : ` avatar-${size}`;
  if (bot?.icon_emoji) {
    return (
      <span className={`avatar bot-icon${sizeClass}`} aria-hidden="true">
        {displayEmoji(bot.icon_emoji)}
      </span>
    );
  }
  const src = bot ? null : avatarSrc(avatarUrlOf(userId));
  if (src && src !== broken) {
    return (
      <img
        className={`avatar avatar-img${sizeClass}`}
        src={src}
        alt=""
        data-avatar-of={userId}
        decoding="async"
        referrerPolicy="no-referrer"
        onError={() => setBroken(src)}
      />
    );
  }
  if (imageOnly) return null;
  const name = bot?.name ?? nameOf(userId);
  return (
    <span className={`avatar ${hueClass(userId)}${sizeClass}`} aria-hidden="true" data-initial-of={userId}>
      {initialOf(name)}
    </span>
  );
}
