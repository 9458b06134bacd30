// A small emoji set: the picker's choices and the shortcodes typed as `:name:`. Reactions
// are stored as the emoji character (the API also accepts `:shortcode:`; unknown
// shortcodes are shown as written).

export const EMOJI: ReadonlyArray<readonly [string, string]> = [
  ['thumbsup', '👍'],
  ['thumbsdown', '👎'],
  ['heart', '❤️'],
  ['joy', '😂'],
  ['smile', '😄'],
  ['slightly_smiling_face', '🙂'],
  ['wink', '😉'],
  ['thinking_face', '🤔'],
  ['tada', '🎉'],
  ['eyes', '👀'],
  ['fire', '🔥'],
  ['rocket', '🚀'],
  ['white_check_mark', '✅'],
  ['x', '❌'],
  ['warning', '⚠️'],
  ['pray', '🙏'],
  ['clap', '👏'],
  ['wave', '👋'],
  ['100', '💯'],
  ['cry', '😢'],
  ['scream', '😱'],
  ['sunglasses', '😎'],
  ['coffee', '☕'],
  ['bug', '🐛'],
];

const BY_NAME = new Map<string, string>(EMOJI.map(([n, e]) => [n, e]));
BY_NAME.set('+1', '👍');
BY_NAME.set('-1', '👎');
BY_NAME.set('laughing', '😆');
BY_NAME.set('ok_hand', '👌');
BY_NAME.set('star', '⭐');
BY_NAME.set('sparkles', '✨');

/** The emoji of a shortcode name (without colons), if known. */
export function emojiFor(name: string): string | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** How a stored reaction is shown: `:tada:` as 🎉, anything else as written. */
export function displayEmoji(reaction: string): string {
  const m = /^:([a-z0-9_+-]{1,64}):$/i.exec(reaction);
  return (m && emojiFor(m[1])) || reaction;
}

/** Known shortcodes starting with `prefix`, for the picker's filter. */
export function searchEmoji(prefix: string): Array<readonly [string, string]> {
  const p = prefix.toLowerCase();
  const out: Array<readonly [string, string]> = [];
  for (const [n, e] of BY_NAME) if (n.includes(p)) out.push([n, e]);
  return out;
}
