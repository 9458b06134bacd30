/** The server's limit on message text (docs/api.md): checked before sending. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
