// The page's outbox: what the user sends waits here and goes out in the order it was typed, one
// message at a time for the whole session (the server keeps one queue per session too, so
// nothing is gained by racing it, and a refused message never lets a later one overtake it).
//
// A refusal because the session's queue is full (429) waits for its Retry-After and tries
// again, for as long as it takes. A lost connection, no answer in time or a server error (5xx)
// is tried again after a growing pause; only after MAX_ATTEMPTS of those, or at once for any
// other refusal (a 4xx: not connected, a bad reply), the bubble shows "retry / discard".
// A send whose fate is unknown (the connection dropped while it was out) is looked for among
// the chat's stored messages before it is tried again, so that it is never sent twice.

import { UNANSWERED } from './store.js';

const MAX_ATTEMPTS = 3; // failures (no answer, 5xx) before a send is given up
const BACKOFF_MS = [1000, 2000, 4000]; // the pause after the 1st, 2nd... failure
const BUSY_WAIT_MS = [1000, 2000, 4000, 8000]; // after a 429 that did not say how long to wait
const MAX_BUSY_WAIT_MS = 60000;

/** 'busy' (try again when told), 'transient' (try again after a pause) or 'final'. */
export function verdict(error) {
  const status = Number(error?.status) || 0;
  if (status === 429 || error?.code === 'rate_limited') return 'busy';
  if (status >= 500 || (!status && UNANSWERED.has(error?.code))) return 'transient';
  return 'final';
}

/** How long to wait after the ``count``-th 429 in a row: the server's Retry-After if it said. */
export function busyWait(error, count) {
  const seconds = Number(error?.retryAfter);
  if (Number.isFinite(seconds) && seconds > 0) return Math.min(seconds * 1000, MAX_BUSY_WAIT_MS);
  return BUSY_WAIT_MS[Math.min(count, BUSY_WAIT_MS.length) - 1];
}

/** 128 random bits in hex (crypto.randomUUID needs a secure context; this works over plain http too). */
function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  /**
   * ``deliver(item)`` sends one (resolves with the server's message); ``store`` holds the
   * pending bubbles; ``confirm(item)`` asks the server whether a send of unknown fate was
   * stored (it reloads the chat: the store drops the bubble when so); ``describe(error, item)``
   * words a failure for the bubble.
   */
  constructor({ store, deliver, confirm, describe }) {
    this.store = store;
    this.deliver = deliver;
    this.confirm = confirm;
    this.describe = describe;
    this.items = []; // {chatId, localId, request}, oldest first
    this.running = false;
    this.stopped = false;
    this.wakeUp = null; // ends the current pause early (see nudge)
  }

  /** Queue a send; its pending bubble shows at once. */
  add(chatId, request, preview) {
    const localId = this.store.addPending(chatId, { ...preview, request });
    // The same clientId on every attempt: the server sends a repeat of it once.
    this.items.push({ chatId, localId, request: { ...request, clientId: newClientId() } });
    this.pump();
    return localId;
  }

  stop() {
    this.stopped = true;
    this.items = [];
    this.nudge();
  }

  /** Cut a pause after a failure short (the connection is back): the send tries again now. */
  nudge() {
    if (this.wakeUp) this.wakeUp();
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.items.length && !this.stopped) {
        await this.send(this.items[0]);
        this.items.shift();
      }
    } finally {
      this.running = false;
    }
  }

  /** One send, tried until it is sent, given up, or its bubble is gone. */
  async send(item) {
    const { chatId, localId } = item;
    let failures = 0;
    let refusals = 0;
    for (;;) {
      if (this.stopped || !this.store.pending(chatId, localId)) return;
      this.store.setSendState(chatId, localId, 'sending');
      let error;
      try {
        const message = await this.deliver(item);
        this.store.settle(localId, chatId, message);
        return;
      } catch (caught) {
        error = caught;
      }
      if (this.stopped) return;
      const kind = verdict(error);
      const unconfirmed = UNANSWERED.has(error?.code);
      if (kind === 'busy') {
        refusals += 1;
        this.store.setSendState(chatId, localId, 'waiting');
        await this.pause(busyWait(error, refusals), { wakeable: false });
        continue;
      }
      if (kind === 'transient') failures += 1;
      if (kind === 'final' || failures >= MAX_ATTEMPTS) {
        this.store.fail(localId, chatId, error, this.describe(error, item));
        return;
      }
      this.store.setSendState(chatId, localId, 'waiting', { unconfirmed });
      await this.pause(BACKOFF_MS[failures - 1], { wakeable: true });
      if (unconfirmed && this.store.pending(chatId, localId)) {
        try {
          await this.confirm(item);
        } catch {
          // the chat could not be read now: the next attempt tells
        }
        // Stored: it went after all. Else it stays "unconfirmed" while tried again, so that
        // its message arriving late still takes the place of its bubble (and stops the retry).
        if (!this.store.pending(chatId, localId)) return;
      }
    }
  }

  /** Wait ``ms``; a ``wakeable`` pause (after a failure) ends early on ``nudge()`` or ``stop()``. */
  pause(ms, { wakeable }) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = wakeable ? done : () => this.stopped && done();
    });
  }
}
