// Everything that exists while a user is signed in: their socket, session and chats, and
// the calls that change them. Frames update the store; after every (re)connection the
// views catch up from REST, since frames sent while the socket was down are gone.

import { api, auth } from './api.js';
import { LiveSocket } from './socket.js';
import { ChatStore, SessionModel } from './store.js';

const PAGE = 50;
const ACTION_PATHS = { start: 'start', stop: 'disconnect', restart: 'restart', clear: 'clear-session' };

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
    const data = await api.get(path);
    this.store.setMessages(chatId, data.items, data.total, { older });
  }

  async sessionAction(action) {
    const since = this.session.mark();
    this.session.fromRest(await api.post(`/api/whatsapp/${ACTION_PATHS[action]}/${this.uid}`), since);
    if (this.session.state === 'QR' && !this.session.qr) await this.fetchQr();
  }

  /** Show the message at once as pending; the server's answer settles it. */
  async send(chatId, body) {
    const localId = this.store.addPending(chatId, body);
    try {
      const message = this.socket.isOpen
        ? await this.socket.command('message.send', { to: chatId, message: body })
        : await api.post(`/api/whatsapp/send/${this.uid}`, { to: chatId, message: body });
      this.store.settle(localId, chatId, message);
    } catch (error) {
      this.store.fail(localId, chatId, error);
    }
  }
}
