// Slash commands in the composer, as the server reads them (ocomms_core::slack::commands):
// `/deploy prod now` invokes /deploy with the text `prod now`; `//x` sends the message `/x`.
// Pure, so the composer's rules are unit-tested.

import type { CommandInfo } from './types';

/** A command's name: 1 to 32 of a-z, 0-9, `-` and `_` (any case; the server lowercases). */
export const COMMAND_NAME = /^[a-z0-9_-]{1,32}$/i;

/** What the composer sends: a command to invoke, or a message to post. */
export type Outgoing = { kind: 'command'; name: string; text: string } | { kind: 'message'; text: string };

/**
 * Reads what was typed. A text starting with one `/` and a well-formed name is a command
 * (its name lowercased; the rest, trimmed, is its text); `//` starts a message beginning
 * with a single `/`; anything else (`/home/me`, `/ x`, `hello /deploy`) is a message as typed.
 */
export function parseOutgoing(text: string): Outgoing {
  if (text.startsWith('//')) return { kind: 'message', text: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'message', text };
  const rest = text.slice(1);
  const cut = rest.search(/\s/);
  const name = cut < 0 ? rest : rest.slice(0, cut);
  if (!COMMAND_NAME.test(name)) return { kind: 'message', text };
  return { kind: 'command', name: name.toLowerCase(), text: cut < 0 ? '' : rest.slice(cut).trim() };
}

/**
 * The command name being typed, for completion: the text so far (up to the caret) is `/`
 * and part of a name, and nothing but whitespace-led text follows. null otherwise.
 */
export function commandQuery(text: string, caret: number = text.length): string | null {
  const m = /^\/([a-z0-9_-]{0,32})$/i.exec(text.slice(0, caret));
  if (!m) return null;
  const after = text.slice(caret);
  if (after && !/^\s/.test(after)) return null;
  return m[1].toLowerCase();
}

/** Commands whose name starts with `query` (by name), then those that only contain it. */
export function matchCommands(query: string, commands: CommandInfo[], limit = 8): CommandInfo[] {
  const q = query.toLowerCase();
  const byName = (a: CommandInfo, b: CommandInfo) => a.name.localeCompare(b.name);
  const starts = commands.filter((c) => c.name.startsWith(q)).sort(byName);
  const contains = q ? commands.filter((c) => !c.name.startsWith(q) && c.name.includes(q)).sort(byName) : [];
  return [...starts, ...contains].slice(0, limit);
}

/** How a command is offered: `/deploy [env] — Deploys a build (Deployer)`. */
export function commandLabel(c: CommandInfo): string {
  const usage = c.usage_hint ? ` ${c.usage_hint}` : '';
  const description = c.description ? ` — ${c.description}` : '';
  return `/${c.name}${usage}${description} (${c.app_name})`;
}

/** Trigger words as typed in a form: separated by commas and/or spaces, without repeats. */
export function splitTriggerWords(raw: string): string[] {
  const out: string[] = [];
  for (const w of raw.split(/[\s,]+/)) {
    if (w && !out.some((x) => x.toLowerCase() === w.toLowerCase())) out.push(w);
  }
  return out;
}
