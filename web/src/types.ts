// Shapes of the API's JSON (docs/api.md). Only the fields the client reads are listed.

export type Role = 'owner' | 'admin' | 'member' | 'guest';
export type ChannelKind = 'public' | 'private' | 'dm';
export type PresenceStatus = 'online' | 'away' | 'offline';

export interface User {
  id: string;
  email?: string;
  display_name: string;
  avatar_url?: string;
  status_text?: string;
  time_zone?: string;
}

/** One signed-in device of the account (GET /auth/sessions). */
export interface AuthSessionInfo {
  id: string;
  method: 'password' | 'signup' | 'magic_link' | 'password_reset' | 'oidc';
  user_agent: string;
  address: string;
  created_at_ms: number;
  last_seen_at_ms: number;
  /** The session of this page. */
  current: boolean;
}

/** A mail the install sent, or logged when it has no mail server (GET /admin/outbox). */
export interface OutboxMail {
  id: number;
  to: string;
  subject: string;
  text: string;
  state: 'pending' | 'sent' | 'logged' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at_ms: number;
}

/** The refresh token is not here: it is an HttpOnly cookie the page never sees. */
export interface Tokens {
  access_token: string;
  expires_in: number;
}

export interface Workspace {
  id: string;
  name: string;
  role: Role;
}

/** A workspace the caller was deactivated in (`GET /workspaces`). */
export interface DeactivatedIn {
  id: string;
  name: string;
  deactivated_at_ms: number;
}

export interface Channel {
  id: string;
  workspace_id: string;
  name: string;
  kind: ChannelKind;
  topic: string;
  purpose?: string;
  created_by?: string;
  is_default?: boolean;
  archived: boolean;
  last_seq: number;
  member_ids?: string[];
  is_member: boolean;
}

export interface Reaction {
  emoji: string;
  count: number;
  user_ids: string[];
}

export interface Message {
  id: string;
  channel_id: string;
  seq: number;
  author_id: string;
  text: string;
  client_msg_id: string | null;
  created_at_ms: number;
  edited_at_ms: number | null;
  deleted: boolean;
  mentions?: string[];
  mentions_channel?: boolean;
  mentions_here?: boolean;
  thread_root_id: string | null;
  also_to_channel?: boolean;
  reply_count: number;
  last_reply_at_ms: number | null;
  reactions?: Reaction[];
  pinned?: boolean;
  /** In the pins list: who pinned it. */
  pinned_by?: string;
  /** Files sent with it, in order. */
  files?: MessageFile[];
  /** On replies: the root's counters after this reply. */
  root?: { id: string; reply_count: number; last_reply_at_ms: number | null };
  /** Slack's timestamp: unique and increasing in the channel. */
  ts?: string;
  /** Set on what an integration posted: the name (and icon) it posted under. */
  bot?: BotProfile | null;
  /** Block Kit blocks an integration posted; shown instead of `text`. */
  blocks?: Block[];
  /** Legacy Slack attachments, shown after the text. */
  attachments?: Attachment[];
  /** Only this user sees it (an app's ephemeral message); never stored. */
  ephemeral?: boolean;
}

export interface BotProfile {
  app_id: string;
  name: string;
  icon_emoji?: string;
  icon_url?: string;
}

/** A text object of a block: markdown (converted from Slack's mrkdwn by the server) or plain. */
export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

export interface BlockImage {
  type: 'image';
  image_url: string;
  alt_text: string;
}

export type Block =
  | { type: 'section'; text?: TextObject; fields?: TextObject[]; accessory?: BlockImage }
  | { type: 'context'; elements: (TextObject | BlockImage)[] }
  | { type: 'divider' }
  | { type: 'header'; text: TextObject }
  | { type: 'image'; image_url: string; alt_text: string; title?: TextObject };

export interface Attachment {
  fallback?: string;
  color?: string;
  pretext?: string;
  author_name?: string;
  author_link?: string;
  title?: string;
  title_link?: string;
  text?: string;
  fields?: { title?: string; value?: string; short?: boolean }[];
  image_url?: string;
  footer?: string;
  ts?: number;
  blocks?: Block[];
}

export interface ChannelEvent {
  channel_id: string;
  seq: number;
  kind: string;
  // Each kind has its own shape; see applyEvent.
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  at_ms: number;
}

export interface Member {
  user_id: string;
  display_name: string;
  role?: Role;
  avatar_url?: string;
  status_text?: string;
  time_zone?: string;
  joined_at_ms?: number;
  /** Listed to admins and owners only. */
  deactivated?: boolean;
  /** An app's bot user. */
  bot?: boolean;
}

/** `GET /workspaces/{id}`: the workspace with its settings and the caller's role. */
export interface WorkspaceInfo {
  id: string;
  name: string;
  description: string;
  members_can_invite: boolean;
  members_can_create_channels: boolean;
  /** Members sign in through single sign-on only. */
  sso_only: boolean;
  role: Role;
  member_count: number;
}

export interface Invite {
  code: string;
  role: Role;
  uses: number;
  max_uses: number | null;
  expires_at_ms: number | null;
  revoked: boolean;
  valid: boolean;
  created_at_ms: number;
}

export interface Unread {
  channel_id: string;
  last_seq: number;
  last_read_seq: number;
  unread_count: number;
  mention_count: number;
}

export interface Subscription {
  channel_id: string;
  last_seq: number;
}

export type ServerFrame =
  | { type: 'hello'; user_id: string; subscriptions: Subscription[] }
  | { type: 'event'; event: ChannelEvent }
  | { type: 'typing'; channel_id: string; seq: number; user_id: string }
  | { type: 'presence'; user_id: string; status: PresenceStatus }
  | { type: 'subscribed'; subscription: Subscription }
  | { type: 'unsubscribed'; channel_id: string }
  | { type: 'resync'; reason: string }
  | { type: 'pong'; nonce: number | null }
  | { type: 'read_marker'; channel_id: string; last_read_seq: number }
  | { type: 'session_ended'; reason: string }
  | { type: 'role_changed'; workspace_id: string; role: Role }
  | { type: 'workspace_changed'; workspace_id: string; what: 'channels' | 'members' | 'settings' }
  | { type: 'notifications_changed' }
  | { type: 'ephemeral'; message: Message }
  | { type: 'error'; code: string; message: string };

/** One piece of a search hit's snippet; `hit` pieces matched the query. */
export interface SnippetPart {
  text: string;
  hit: boolean;
}

/** A message found by `GET /workspaces/{id}/search`. */
export interface SearchHit {
  message_id: string;
  channel_id: string;
  channel_name: string;
  channel_kind: ChannelKind;
  author_id: string;
  author_name: string;
  seq: number;
  thread_root_id: string | null;
  created_at_ms: number;
  snippet: SnippetPart[];
}

/** Which messages of a channel notify (`PUT /channels/{id}/notifications`). */
export type NotifyLevel = 'default' | 'all' | 'mentions' | 'nothing';

/** `GET /me/notifications`. */
export interface NotificationSettings {
  do_not_disturb: boolean;
  dnd_until_ms: number | null;
  channels: { channel_id: string; workspace_id: string; level: NotifyLevel }[];
}

/** A file as its message carries it. */
export interface MessageFile {
  id: string;
  name: string;
  content_type: string;
  size: number;
  /** Pictures: their size as shown (EXIF orientation applied). */
  width: number | null;
  height: number | null;
  /** Whether the server made a thumbnail (absent on messages from before thumbnails). */
  thumbnail?: boolean;
}

/** `POST /channels/{id}/files`: the pending file and how to upload it. */
export interface UploadStart {
  file: MessageFile & { state: string };
  upload: { method: string; url: string; headers: Record<string, string>; expires_at_ms: number };
}

// ---------------------------------------------------------------- apps (docs/integrations.md)

/** An app's incoming webhook (its URL is shown once, when it is made). */
export interface AppHook {
  id: string;
  channel_id: string;
  created_at_ms: number;
  last_used_at_ms: number | null;
}

/** A bot token of an app (the secret is shown once, when it is made). */
export interface AppToken {
  id: string;
  scopes: string[];
  created_at_ms: number;
  last_used_at_ms: number | null;
}

/** The events an app may subscribe to, as Slack names them. */
export type AppEvent =
  | 'message.channels'
  | 'message.groups'
  | 'message.im'
  | 'app_mention'
  | 'reaction_added'
  | 'member_joined_channel';

/** A slash command an app answers. */
export interface SlashCommand {
  id: string;
  app_id: string;
  /** Without the slash. */
  name: string;
  url: string;
  description: string;
  usage_hint: string;
  created_at_ms: number;
}

/** An outgoing webhook: messages of a public channel (or of any, with a trigger word) posted to `url`. */
export interface OutgoingHook {
  id: string;
  app_id: string;
  /** null: any public channel. */
  channel_id: string | null;
  trigger_words: string[];
  url: string;
  /** Sent with every post, for the app to check. */
  token: string;
  created_at_ms: number;
}

/** `GET /workspaces/{id}/apps`: an app with everything it was given. */
export interface App {
  id: string;
  name: string;
  description: string;
  bot_user_id: string;
  hooks: AppHook[];
  tokens: AppToken[];
  /** Signs what we send the app (`X-Slack-Signature`). */
  signing_secret: string;
  /** Where its events go; null when it gets none. */
  events_url: string | null;
  events: AppEvent[];
  commands: SlashCommand[];
  outgoing_hooks: OutgoingHook[];
}

/** One line of an app's delivery log (`GET /workspaces/{ws}/apps/{app}/deliveries`). */
export interface Delivery {
  id: number;
  kind: 'event' | 'outgoing_webhook';
  /** The event type, or the trigger word. */
  what: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at_ms: number;
  next_at_ms: number | null;
  finished_at_ms: number | null;
}

/** A command as members see it (`GET /workspaces/{id}/commands`), for the composer. */
export interface CommandInfo {
  name: string;
  description: string;
  usage_hint: string;
  app_name: string;
}

/** `POST /channels/{id}/commands`: how the app answered. */
export interface CommandResult {
  /** null: the app acknowledged and said nothing (it may answer later). */
  response_type: 'ephemeral' | 'in_channel' | null;
  message?: Message | null;
}
