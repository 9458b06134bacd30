// The channel on screen: header, messages, who is typing, and the composer (or Join).

import { closeSide, openSide } from '../actions/channel';
import { addFiles } from '../actions/files';
import { joinChannel, leaveChannel } from '../actions/workspace';
import { channelLabel, nameOf, useStore } from '../store';
import { renderMarkdown } from '../markdown';
import type { Channel } from '../types';
import { Composer } from './Composer';
import { MessageList } from './MessageList';

export function TypingLine({ channelId }: { channelId: string }) {
  const s = useStore();
  const now = Date.now();
  const who = [...(s.typing.get(channelId) ?? new Map<string, number>()).entries()]
    .filter(([u, until]) => until > now && u !== s.me?.id)
    .map(([u]) => nameOf(u) ?? 'Someone');
  const text =
    who.length === 0
      ? ''
      : who.length === 1
        ? `${who[0]} is typing…`
        : who.length === 2
          ? `${who[0]} and ${who[1]} are typing…`
          : 'Several people are typing…';
  return (
    <p className="typing" aria-live="polite" data-testid="typing">
      {text}
    </p>
  );
}

export function ChannelPane({ channel }: { channel: Channel }) {
  const s = useStore();
  const label = channelLabel(channel);
  const title = channel.kind === 'dm' ? label : `${channel.kind === 'private' ? '🔒 ' : '#'}${label}`;
  return (
    <section
      className="channel"
      aria-labelledby="channel-title"
      // Files dropped anywhere on the channel go to its composer (the composer's own drop
      // handler takes those dropped on it).
      onDragOver={(e) => {
        if (channel.is_member && !channel.archived && e.dataTransfer.types.includes('Files')) e.preventDefault();
      }}
      onDrop={(e) => {
        if (!channel.is_member || channel.archived || !e.dataTransfer.files.length) return;
        e.preventDefault();
        addFiles(channel.id, null, e.dataTransfer.files);
      }}
    >
      <header className="ch-header">
        <h1 id="channel-title">{title}</h1>
        {channel.topic && (
          <div className="muted topic md" data-testid="topic">
            {renderMarkdown(channel.topic, { nameOf, me: s.me?.id })}
          </div>
        )}
        <span className="spacer" />
        {channel.is_member && (
          <button
            id="pins-btn"
            type="button"
            className="ghost small"
            aria-pressed={s.side?.kind === 'pins'}
            onClick={() => (s.side?.kind === 'pins' ? closeSide() : openSide('pins', channel.id))}
          >
            Pinned
          </button>
        )}
        {(channel.kind !== 'dm' || channel.is_member) && (
          <button
            id="details-btn"
            type="button"
            className="ghost small"
            aria-pressed={s.side?.kind === 'details'}
            onClick={() => (s.side?.kind === 'details' ? closeSide() : openSide('details', channel.id))}
          >
            Details
          </button>
        )}
        {channel.is_member && channel.kind !== 'dm' && !channel.is_default && (
          <button
            type="button"
            className="ghost small"
            onClick={() => {
              const back =
                channel.kind === 'private' ? 'You will need to be added again to come back.' : 'You can join it again from Browse channels.';
              if (window.confirm(`Leave #${channel.name}? ${back}`)) void leaveChannel(channel.id);
            }}
          >
            Leave
          </button>
        )}
      </header>
      {channel.is_member ? (
        <>
          <MessageList channel={channel} />
          <TypingLine channelId={channel.id} />
          {channel.archived ? (
            <p className="join-bar">This channel is archived.</p>
          ) : (
            <Composer
              key={channel.id}
              id="composer-input"
              channelId={channel.id}
              label={`Message ${channel.kind === 'dm' ? label : `#${label}`}`}
              autoFocus={!s.threadId}
            />
          )}
        </>
      ) : (
        <div className="join-bar">
          <p>You are not a member of #{channel.name}.</p>
          <button type="button" className="primary" autoFocus onClick={() => void joinChannel(channel.id)}>
            Join channel
          </button>
        </div>
      )}
    </section>
  );
}
