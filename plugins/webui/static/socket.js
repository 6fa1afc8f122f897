// The user's live channel (/ws): reconnects by itself with exponential back-off.
//
// Events (CustomEvent.detail): 'frame' {type, data}; 'state' {state: 'connecting' | 'open' |
// 'reconnecting', attempt, delay}; 'unauthorized' (close code 4401: the token is no good);
// 'refused' (the upgrade failed before opening: maybe the token, maybe the network).

import { T } from './i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.socket;

const CLOSE_UNAUTHORIZED = 4401;
const COMMAND_TIMEOUT_MS = 15000;
const KEEPALIVE_MS = 25000;

export class LiveSocket extends EventTarget {
  constructor(tokenProvider, { baseDelay = 500, maxDelay = 10000 } = {}) {
    super();
    this.tokenProvider = tokenProvider;
    this.baseDelay = baseDelay;
    this.maxDelay = maxDelay;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.keepalive = null;
    this.stopped = true;
    this.seq = 0;
    this.pending = new Map();
    this.onOnline = () => this.reconnectNow();
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    if (this.ws) this.ws.close(1000, 'signed out');
    this.ws = null;
    this.failPending(TEXT.signedOut);
  }

  /** Skip the remaining back-off (the browser came back online, or the user asked). */
  reconnectNow() {
    if (this.stopped || this.isOpen || (this.ws && this.ws.readyState === WebSocket.CONNECTING)) return;
    clearTimeout(this.timer);
    this.connect();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  connect() {
    const token = this.tokenProvider();
    if (!token || this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    this.ws = ws;
    let opened = false;
    this.emit('state', { state: this.attempt ? 'reconnecting' : 'connecting', attempt: this.attempt });
    ws.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
      this.emit('state', { state: 'open' });
      clearInterval(this.keepalive);
      this.keepalive = setInterval(() => this.checkAlive(ws), KEEPALIVE_MS);
    });
    ws.addEventListener('message', (event) => this.receive(event.data));
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.keepalive);
      this.failPending(TEXT.lost);
      if (this.stopped) return;
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.stopped = true;
        this.emit('unauthorized', { reason: event.reason });
        return;
      }
      if (!opened) this.emit('refused', {});
      this.schedule();
    });
  }

  schedule() {
    const delay = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempt);
    this.attempt += 1;
    this.emit('state', { state: 'reconnecting', attempt: this.attempt, delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  async checkAlive(ws) {
    try {
      await this.command('ping', {}, 10000);
    } catch {
      if (this.ws === ws) ws.close(4000, 'keep-alive timed out');
    }
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== 'string') return;
    if (frame.type === 'reply' && frame.data && this.pending.has(frame.data.ref)) {
      const { resolve, reject, timer } = this.pending.get(frame.data.ref);
      this.pending.delete(frame.data.ref);
      clearTimeout(timer);
      if (frame.data.ok) resolve(frame.data.data);
      else reject(Object.assign(new Error(frame.data.error?.message || TEXT.failed), frame.data.error || {}));
      return;
    }
    this.emit('frame', frame);
  }

  /** Send a command; resolves with the reply's data, rejects with its error. */
  command(type, data = {}, timeout = COMMAND_TIMEOUT_MS) {
    if (!this.isOpen) return Promise.reject(Object.assign(new Error(TEXT.offline), { code: 'offline' }));
    const ref = `c${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(Object.assign(new Error(TEXT.timeout), { code: 'timeout' }));
      }, timeout);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, data, ref }));
    });
  }

  failPending(why) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(Object.assign(new Error(TEXT.noAnswer(why)), { code: 'offline' }));
    }
    this.pending.clear();
  }
}
