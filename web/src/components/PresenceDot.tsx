import { nameOf, useStore } from '../store';

/** Online (green), away (hollow) or offline (grey), with the status in words for readers. */
export function PresenceDot({ userId }: { userId: string }) {
  const s = useStore();
  const mine = userId === s.me?.id && s.conn.status === 'online';
  const status = mine ? (s.awayByChoice ? 'away' : 'online') : (s.presence.get(userId) ?? 'offline');
  return (
    <span className={`presence presence-${status}`} role="img" aria-label={`${nameOf(userId) ?? 'someone'} is ${status}`} title={status} />
  );
}
