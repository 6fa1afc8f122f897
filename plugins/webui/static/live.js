// Everything that exists while a user is signed in: their socket, session and chats, and
// the calls that change them. Frames update the store; after every (re)connection the
// views catch up from REST, since frames sent while the socket was down are gone.

import { api, auth, fetchBlob, uploadFile } from './api.js';
import { LiveSocket } from './socket.js';
import { ChatStore, SessionModel } from './store.js';

const PAGE = 50;
const ACTION_PATHS = { start: 'start', stop: 'disconnect', restart: 'restart', clear: 'clear-session' };
const READ_RETRY_MS = 5000; // a read receipt that failed is tried again no sooner than this

export class Live extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.session = new SessionModel();
    this.store = new ChatStore(user.id);
    this.socket = new LiveSocket(() => auth.token);
    this.socket.addEventListener('frame', (event) => this.onFrame(event.detail));
    this.socket.addEventListener('state', (event) => this.emit('connection', event.detail));
    this.socket.addEventListener('unauthorized', () => this.emit('unauthorized', {}));
    // A refused upgrade may be a dead token: REST tells (a 401 there signs out).
    this.socket.addEventListener('refused', () => this.refreshProfile().catch(() => {}));
    this.reads = new Map(); // chatId -> {busy, again, failedAt}
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get uid() {
    return this.user.id;
  }

  start() {
    this.socket.start();
    this.refreshProfile().catch(() => {});
  }

  stop() {
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
    const data = await api.get(`/api/whatsapp/chats/${this.uid}?limit=200`);
    this.store.setChats(data.items, since);
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

  /** A command over the socket when it is open, else its REST route (``rest()``). */
  act(type, data, rest) {
    return this.socket.isOpen ? this.socket.command(type, data) : rest();
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
   */
  async sendMessage(chatId, request, preview) {
    const localId = this.store.addPending(chatId, { ...preview, request });
    try {
      const data = { to: chatId, ...request };
      const message = await this.act('message.send', data, () => api.post(`/api/whatsapp/send/${this.uid}`, data));
      this.store.settle(localId, chatId, message);
    } catch (error) {
      this.store.fail(localId, chatId, error);
    }
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
