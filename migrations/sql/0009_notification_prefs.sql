-- Notification preferences, kept on the server so they follow the user to every device.

-- Per channel: which messages notify. NULL is the default for the channel's kind: every
-- message in a direct message, mentions (and followed threads) elsewhere. Leaving a channel
-- drops the row, so a later join starts from the default again.
ALTER TABLE channel_members
    ADD COLUMN notify_level text CHECK (notify_level IN ('all', 'mentions', 'nothing'));

-- Do not disturb: nothing notifies while it is on and `dnd_until` (if set) is in the future.
-- A separate flag rather than a far-future time, so "until I turn it off" needs no sentinel.
ALTER TABLE users
    ADD COLUMN dnd_on    boolean NOT NULL DEFAULT false,
    ADD COLUMN dnd_until timestamptz;
