/** Protocol major version spoken by this implementation. */
export const PROTO_VERSION = 1;
/** Maximum serial line length in bytes, terminator included. */
export const MAX_LINE_BYTES = 512;
/** Sequence numbers wrap at 2^32. */
export const SEQ_MODULO = 2 ** 32;

/** Timing defaults (design defaults; a device advertises its own watchdog in `caps`). */
export const DEFAULT_WATCHDOG_MS = 1000;
export const DEFAULT_HEARTBEAT_MS = 200;
export const DEFAULT_TLM_HZ = 10;
export const ACK_TIMEOUT_MS = 500;
export const ACK_RETRIES = 3;
