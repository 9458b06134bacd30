// Mentions in the composer read as `@Name`; what is sent holds `<@user-id>` tokens, which
// every client shows as the person's current name. The composer keeps the mentions completed
// so far and swaps them in when sending; a name edited by hand becomes plain text.

/** A mention completed in the composer: what it shows and the token it stands for. */
export interface Mention {
  label: string;
  token: string;
}

const TOKEN = /<@([0-9a-f-]{36})>/g;

/** Whether `c` would continue a name (so `@Ann` is not found inside `@Anna`). */
const wordChar = (c: string | undefined) => !!c && /[\p{L}\p{N}_]/u.test(c);

/** The text as typed, with each completed mention's label replaced by its token. */
export function toWire(text: string, mentions: Mention[]): string {
  if (!mentions.length) return text;
  // Longest labels first: `@Ann Lee` before `@Ann`.
  const byLength = [...mentions].sort((a, b) => b.label.length - a.label.length);
  let out = '';
  let i = 0;
  outer: while (i < text.length) {
    if (text[i] === '@' && !wordChar(text[i - 1])) {
      for (const m of byLength) {
        if (text.startsWith(m.label, i) && !wordChar(text[i + m.label.length])) {
          out += m.token;
          i += m.label.length;
          continue outer;
        }
      }
    }
    out += text[i];
    i += 1;
  }
  return out;
}

/** Stored text made editable: tokens as `@Name` (unknown people stay tokens). */
export function fromWire(text: string, nameOf: (id: string) => string | undefined): { text: string; mentions: Mention[] } {
  const mentions: Mention[] = [];
  const shown = text.replace(TOKEN, (token, id: string) => {
    const name = nameOf(id);
    if (!name) return token;
    const label = `@${name}`;
    if (!mentions.some((m) => m.label === label)) mentions.push({ label, token });
    return label;
  });
  return { text: shown, mentions };
}
