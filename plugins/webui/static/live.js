// Everything that exists while a user is signed in: their socket, session and chats, and
// the calls that change them. Frames update the store; after every (re)connection the
// views catch up from REST, since frames sent while the socket was down are gone.

import { api, auth, fetchBlob, query, uploadFile } from './api.js';
import { describeError } from './errors.js';
import { Outbox } from './outbox.js';
import { LiveSocket } from './socket.js';
import { ChatStore, SessionModel } from './store.js';

const PAGE = 50;
const CHAT_PAGE = 200; // chats listed (and found by a search) at most
const ACTION_PATHS = { start: 'start', stop: 'disconnect', restart: 'restart', clear: 'clear-session' };
const READ_RETRY_MS = 5000; // a read receipt that failed is tried again no sooner than this
// A send is answered once it left, after the session's queue: that may take minutes, and giving
// up early would send it twice. A dead connection is found by the socket's keep-alive instead.
const SEND_TIMEOUT_MS = 10 * 60 * 1000;

export class Live extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.session = new SessionModel();
    this.store = new ChatStore(user.id);
    this.socket = new LiveSocket(() => auth.token);
    this.socket.addEventListener('frame', (event) => this.onFrame(event.detail));
    this.socket.addEventListener('state', (event) => {
      if (event.detail.state === 'open') this.outbox.nudge(); // a send waiting after a lost connection goes now
      this.emit('connection', event.detail);
    });
    this.socket.addEventListener('unauthorized', () => this.emit('unauthorized', {}));
    // A refused upgrade may be a dead token: REST tells (a 401 there signs out).
    this.socket.addEventListener('refused', () => this.refreshProfile().catch(() => {}));
    this.reads = new Map(); // chatId -> {busy, again, failedAt}
    this.outbox = new Outbox({
      store: this.store,
      deliver: ({ chatId, request }) => {
        const data = { to: chatId, ...request };
        return this.act('message.send', data, () => api.post(`/api/whatsapp/send/${this.uid}`, data), SEND_TIMEOUT_MS);
      },
      confirm: ({ chatId }) => this.loadMessages(chatId, { older: false }),
      describe: (error, { request }) => this.explain(error, request.mediaId ? 'media' : 'send'),
    });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get uid() {
    return this.user.id;
  }

  get isAdmin() {
    return this.user.role === 'admin';
  }

  /** A failure in words for this user (operators' details for admins only); see errors.js. */
  explain(error, action = 'other') {
    return describeError(error, { admin: this.isAdmin, action });
  }

  start() {
    this.socket.start();
    this.refreshProfile().catch(() => {});
  }

  stop() {
    this.outbox.stop();
    this.socket.stop();
  }

  onFrame({ type, data }) {
    switch (type) {
      case 'hello':
        if (data.user) this.setUser(data.user);
        if (data.session) this.session.fromFrame(data.session);
        else this.session.setUnavailable();
        this.catchUp();
        break;
      case 'session.status':
        this.session.fromFrame(data);
        if (data.state === 'QR' && !this.session.qr) this.fetchQr();
        if (data.state === 'CONNECTED') this.refreshChats().catch(() => {});
        break;
      case 'session.qr':
        this.session.qrFrame(data);
        break;
      case 'session.code':
        this.session.codeFrame(data);
        break;
      case 'message':
        this.store.touchLive(data.chatId);
        this.store.frameMessage(data);
        break;
      case 'message.ack':
        this.store.touchLive(data.chatId);
        this.store.setAck(data);
        break;
      case 'message.reaction':
        this.store.touchLive(data.chatId);
        this.store.setReaction(data);
        break;
      case 'message.edited':
        this.store.touchLive(data.chatId);
        this.store.setEdited(data);
        break;
      case 'message.revoked':
        this.store.touchLive(data.chatId);
        this.store.setRevoked(data);
        break;
      case 'message.deleted':
        this.store.touchLive(data.chatId);
        this.store.removeMessage(data);
        break;
      case 'chat':
        this.store.touchLive(data.id);
        this.store.upsertChat(data);
        break;
      case 'chats.synced':
        this.refreshChats().catch(() => {});
        break;
      default:
        break;
    }
  }

  setUser(user) {
    const changed = JSON.stringify(user) !== JSON.stringify(this.user);
    this.user = { ...this.user, ...user };
    auth.save(null, this.user);
    if (changed) this.emit('user', this.user);
  }

  /**
   * Run ``request`` (a new password): the server revokes every token of the user, this one too,
   * closes their sockets and answers a fresh ``token``. The socket is closed first, so its 4401
   * is not taken for a sign-out, and opens again with the new token.
   */
  async withNewToken(request) {
    this.socket.stop();
    try {
      const answer = await request();
      if (answer?.token) auth.save(answer.token, null);
      return answer;
    } finally {
      this.socket.start();
    }
  }

  async refreshProfile() {
    this.setUser(await api.get('/api/user/profile'));
  }

  /** Status, chats and the open conversation again from REST. */
  async catchUp() {
    const open = this.store.openChatId;
    this.store.forgetLoaded(open);
    const jobs = [this.refreshStatus(), this.refreshChats()];
    if (open) jobs.push(this.loadMessages(open, { older: false }));
    await Promise.allSettled(jobs);
    this.emit('caughtup', {});
  }

  async refreshStatus() {
    const since = this.session.mark();
    try {
      this.session.fromRest(await api.get(`/api/whatsapp/status/${this.uid}`), since);
      if (this.session.state === 'QR' && !this.session.qr) await this.fetchQr();
    } catch (error) {
      if (error.status === 404) this.session.setUnavailable();
    }
  }

  async fetchQr() {
    const since = this.session.mark();
    try {
      this.session.qrFromRest(await api.get(`/api/whatsapp/qr/${this.uid}`), since);
    } catch {
      // 409: no QR right now; the next session.qr frame brings one.
    }
  }

  async refreshChats() {
    if (!this.session.available) return;
    const since = this.store.mark();
    const data = await api.get(`/api/whatsapp/chats/${this.uid}?limit=${CHAT_PAGE}`);
    this.store.setChats(data.items, since);
  }

  /** The chats whose name or number holds ``q`` (from the database: works while stopped). */
  async findChats(q) {
    const since = this.store.mark();
    const data = await api.get(`/api/whatsapp/chats/${this.uid}${query({ q, limit: CHAT_PAGE })}`);
    this.store.setChats(data.items, since);
    return data;
  }

  /** A page of the messages holding every word of ``q``, newest first (from the database). */
  findMessages(q, { offset = 0, limit = 20 } = {}) {
    return api.get(`/api/whatsapp/search/${this.uid}${query({ q, limit, offset })}`);
  }

  async loadMessages(chatId, { older }) {
    const offset = older ? this.store.serverCount(chatId) : 0;
    const path = `/api/whatsapp/chats/${this.uid}/${encodeURIComponent(chatId)}/messages?limit=${PAGE}&offset=${offset}`;
    const since = this.store.mark();
    const data = await api.get(path);
    this.store.setMessages(chatId, data.items, data.total, { older, since });
  }

  async sessionAction(action) {
    const since = this.session.mark();
    this.session.fromRest(await api.post(`/api/whatsapp/${ACTION_PATHS[action]}/${this.uid}`), since);
    if (this.session.state === 'QR' && !this.session.qr) await this.fetchQr();
  }

  /** Ask for a code to link by phone number instead of the QR code; see docs/api.md (pair). */
  async requestPairingCode(phone) {
    const since = this.session.codeMark();
    const answer = await api.post(`/api/whatsapp/pair/${this.uid}`, { phone });
    this.session.pairingFromRest(answer, since);
    return answer;
  }

  /** A command over the socket when it is open, else its REST route (``rest()``). */
  act(type, data, rest, timeout = undefined) {
    return this.socket.isOpen ? this.socket.command(type, data, timeout) : rest();
  }

  messagePath(messageId) {
    return `/api/whatsapp/messages/${this.uid}/${encodeURIComponent(messageId)}`;
  }

  /** A text (a reply when ``replyTo`` names a message); shown at once as pending. */
  send(chatId, body, { replyTo = null, quoted = null } = {}) {
    const request = replyTo ? { message: body, replyTo } : { message: body };
    return this.sendMessage(chatId, request, { body, type: 'chat', quotedId: replyTo, quoted });
  }

  /**
   * Send what ``request`` says (``{message} | {mediaId, caption?, as?} | {location}``, with an
   * optional ``replyTo``); ``preview`` is the pending bubble until the server's answer settles it.
   * It waits its turn in the page's outbox (see outbox.js); the pending bubble's id is returned.
   */
  sendMessage(chatId, request, preview) {
    return this.outbox.add(chatId, request, preview);
  }

  /** React to a message ('' takes the user's reaction back). */
  async react(msg, emoji) {
    const since = this.store.mark();
    const updated = await this.act('message.react', { id: msg.id, emoji }, () => api.post(`${this.messagePath(msg.id)}/react`, { emoji }));
    this.store.fromAction(updated, since);
  }

  /** A new text for one of the user's messages. */
  async edit(msg, text) {
    const since = this.store.mark();
    const updated = await this.act('message.edit', { id: msg.id, message: text }, () => api.put(this.messagePath(msg.id), { message: text }));
    this.store.fromAction(updated, since);
  }

  /** Delete a message for 'everyone' (the user's own) or for 'me'. */
  async deleteMessage(msg, forWhom) {
    await this.act('message.delete', { id: msg.id, for: forWhom }, () => api.del(`${this.messagePath(msg.id)}?for=${forWhom}`));
    const ref = { id: msg.id, chatId: msg.chatId };
    if (forWhom === 'me') this.store.removeMessage(ref);
    else this.store.setRevoked(ref);
  }

  /**
   * Mark a chat read (the senders see blue ticks, the unread count goes to 0). One call at a
   * time per chat; asked again meanwhile, it runs once more after; after a failure it waits.
   */
  async markRead(chatId) {
    const state = this.reads.get(chatId) || { busy: false, again: false, failedAt: 0 };
    this.reads.set(chatId, state);
    if (state.busy) {
      state.again = true;
      return;
    }
    if (Date.now() - state.failedAt < READ_RETRY_MS) return;
    state.busy = true;
    try {
      do {
        state.again = false;
        const since = this.store.mark();
        const chat = await this.act('chat.read', { chatId }, () => api.post(`/api/whatsapp/chats/${this.uid}/${encodeURIComponent(chatId)}/read`));
        this.store.chatFromRest(chat, since);
      } while (state.again);
    } catch {
      state.failedAt = Date.now(); // not connected, or no such chat yet: a later change asks again
    } finally {
      state.busy = false;
    }
  }

  /** Upload a file to send; see api.uploadFile. */
  upload(file, options) {
    return uploadFile(`/api/whatsapp/media/${this.uid}`, file, options);
  }

  /** Forget an uploaded file that will not be sent (frees the user's storage quota). */
  discardUpload(mediaId) {
    return api.del(`/api/whatsapp/media/${this.uid}/${encodeURIComponent(mediaId)}`).catch(() => {});
  }

  /** The media of a message, as a Blob. */
  mediaBlob(messageId) {
    return fetchBlob(`${this.messagePath(messageId)}/media`);
  }
}
