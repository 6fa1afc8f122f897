// What the page knows: the WhatsApp session, the chats and the messages of opened chats.
// REST answers and websocket frames both go through here, so a frame that arrives twice,
// or before the REST answer it belongs to, changes nothing twice.

import { toMillis } from './dom.js';
import { sendKey } from './messages.js';

// A REST answer may be older than the frames that arrived while it travelled: each model
// counts frames, a REST call notes the count when it starts (mark()), and its answer is
// applied only when no frame came in between. Frames keep coming, so nothing is lost.
// For messages the rule holds per message: what a frame changed in one (reactions, an edit, a
// revoke) stays when an older REST answer about it lands; a message deleted stays deleted.

// The fields of a message that frames change after it arrived.
const LIVE_FIELDS = ['body', 'caption', 'edited', 'revoked', 'type', 'media', 'location', 'quoted', 'quotedId', 'reactions'];
const REVOKED = { revoked: true, type: 'revoked', body: '', caption: null, media: null, location: null, quoted: null, quotedId: null, reactions: [] };
// Failures without the server's answer: a send that had them may have been stored anyway.
export const UNANSWERED = new Set(['offline', 'timeout', 'network']);
const LINKING_STATES = new Set(['STARTING', 'QR']);
const KEPT_IDS = 2000; // deleted ids (and early changes) remembered, so a late REST page undoes none

export class SessionModel extends EventTarget {
  constructor() {
    super();
    this.status = null; // {userId, state, phone, pushname, since, error}; null when WhatsApp is off
    this.qr = null; // {qr, image}
    // Linking by phone number: {code, expiresAt} while a code shows; {code: null, expired: true}
    // once WhatsApp stopped replacing it; {code: null, error} when it could not make one.
    this.pairing = null;
    this.codeFrames = 0;
    this.available = true;
    this.frames = 0;
  }

  mark() {
    return this.frames;
  }

  fromFrame(status) {
    this.frames += 1;
    this.setStatus(status);
  }

  qrFrame(qr) {
    this.frames += 1;
    if (this.status && this.status.state !== 'QR') this.status = { ...this.status, state: 'QR' };
    this.setQr(qr);
  }

  /** A REST status, unless a frame came after ``since``; true when applied. */
  fromRest(status, since) {
    if (this.frames !== since) return false;
    this.setStatus(status);
    return true;
  }

  qrFromRest(qr, since) {
    if (this.state === 'QR' && (this.frames === since || !this.qr)) this.setQr(qr);
  }

  setStatus(status) {
    this.status = status;
    if (!status || status.state !== 'QR') this.qr = null;
    if (!status || !LINKING_STATES.has(status.state)) this.pairing = null;
    else if (!this.pairing && status.pairing && status.pairing.code) this.pairing = { code: status.pairing.code, expiresAt: status.pairing.expiresAt };
    this.changed();
  }

  /** A ``session.code`` frame: a new code, or the end of them (expired, or an error). */
  codeFrame(data) {
    this.codeFrames += 1;
    if (data.code) this.pairing = { code: data.code, expiresAt: data.expiresAt || null };
    else if (data.error) this.pairing = { code: null, error: String(data.error) };
    else this.pairing = { code: null, expired: true };
    this.changed();
  }

  codeMark() {
    return this.codeFrames;
  }

  /** The code ``POST /pair`` answered, unless a ``session.code`` frame came after ``since``
   * (``codeMark()``): that one is as new or newer. */
  pairingFromRest(answer, since) {
    if (this.codeFrames !== since) return;
    this.pairing = { code: answer.code, expiresAt: answer.expiresAt || null };
    this.changed();
  }

  /** The session is waiting to be linked (or opening to show a QR code). */
  get linking() {
    return LINKING_STATES.has(this.state);
  }

  setQr(qr) {
    this.qr = qr;
    this.changed();
  }

  setUnavailable() {
    this.available = false;
    this.status = null;
    this.qr = null;
    this.changed();
  }

  get state() {
    return this.status ? this.status.state : null;
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }
}

function byTime(a, b) {
  return toMillis(a.timestamp) - toMillis(b.timestamp) || a._seq - b._seq;
}

// WhatsApp's unread counts only fall when the phone reads the chat; what this user has looked
// at here is remembered per browser, so a reload does not bring the badges back.
class SeenCounts {
  constructor(key) {
    this.key = key;
    this.counts = new Map();
    try {
      this.counts = new Map(Object.entries(JSON.parse(localStorage.getItem(key) || '{}')));
    } catch {
      // a damaged entry is forgotten
    }
  }

  get(chatId) {
    return this.counts.get(chatId) || 0;
  }

  set(chatId, count) {
    if (this.get(chatId) === count) return;
    this.counts.delete(chatId);
    if (count > 0) this.counts.set(chatId, count);
    while (this.counts.size > 500) this.counts.delete(this.counts.keys().next().value);
    if (!this.key) return;
    try {
      localStorage.setItem(this.key, JSON.stringify(Object.fromEntries(this.counts)));
    } catch {
      // storage full or refused: the counts stay for this page
    }
  }
}

export class ChatStore extends EventTarget {
  constructor(userId = null) {
    super();
    this.chats = new Map();
    this.messages = new Map(); // chatId -> Map(id -> message)
    this.loadedChats = new Set();
    this.hasOlder = new Map();
    this.earlyAcks = new Map(); // acks of messages not seen yet
    // chatId -> the server's unread count when the user last looked at the chat
    this.seenUnread = new SeenCounts(userId === null ? null : `wamulti.seen.${userId}`);
    this.openChatId = null;
    this.seq = 0;
    this.lowSeq = 0;
    this.frames = 0;
    this.liveAt = new Map(); // chatId -> frame count when a frame last touched it
    this.frameAt = new Map(); // message id -> frame count when a frame last changed it
    this.gone = new Set(); // ids of messages deleted (for me), newest last
    this.earlyChanges = new Map(); // message id -> changes frames made before the message was kept here
    this.sentIds = new Set(); // ids of messages that took the place of this page's pending bubbles
  }

  mark() {
    return this.frames;
  }

  /** A frame is about this chat: REST answers that started before it leave the chat alone. */
  touchLive(chatId) {
    this.frames += 1;
    this.liveAt.set(chatId, this.frames);
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // -- chats ------------------------------------------------------------------------------------
  /** Newest first; within one second, the one that moved last comes first. */
  chatList() {
    return [...this.chats.values()].sort((a, b) => toMillis(b.timestamp) - toMillis(a.timestamp) || b._rank - a._rank);
  }

  /** Unread count shown for a chat: none for the open one, nor for what was already looked at. */
  unread(chat) {
    if (chat.id === this.openChatId) return 0;
    return Math.max(0, (chat.unreadCount || 0) - this.seenUnread.get(chat.id));
  }

  setOpen(chatId) {
    this.openChatId = chatId;
    this.markSeen(chatId);
    this.emit('chats');
  }

  markSeen(chatId) {
    const chat = chatId && this.chats.get(chatId);
    if (chat) this.seenUnread.set(chatId, chat.unreadCount || 0);
  }

  upsertChat(chat, { emit = true } = {}) {
    const old = this.chats.get(chat.id);
    const merged = { ...old, ...chat };
    if (old && old.lastMessage) {
      const incoming = chat.lastMessage;
      if (!incoming || toMillis(old.lastMessage.timestamp) > toMillis(incoming.timestamp)) {
        merged.lastMessage = old.lastMessage;
        merged.timestamp = old.timestamp;
      } else if (incoming.id === old.lastMessage.id) {
        merged.lastMessage = { ...incoming, ack: mergeAck(old.lastMessage.ack, incoming.ack) };
      }
    }
    const seen = this.seenUnread.get(chat.id);
    if (chat.id === this.openChatId || (merged.unreadCount || 0) < seen) this.seenUnread.set(chat.id, merged.unreadCount || 0);
    if (!old || toMillis(merged.timestamp) > toMillis(old.timestamp) || merged.lastMessage?.id !== old.lastMessage?.id) merged._rank = ++this.seq;
    this.chats.set(chat.id, merged);
    if (emit) this.emit('chats');
  }

  /** The REST list, newest first, asked for when the frame count was ``since``. */
  setChats(items, since = Infinity) {
    for (const chat of [...items].reverse()) {
      if ((this.liveAt.get(chat.id) || 0) <= since) this.upsertChat(chat, { emit: false });
    }
    this.emit('chats');
  }

  touchChat(msg) {
    const chat = this.chats.get(msg.chatId) || {
      id: msg.chatId,
      name: '',
      isGroup: String(msg.chatId).endsWith('@g.us'),
      unreadCount: 0,
      timestamp: msg.timestamp,
      lastMessage: null,
    };
    const last = chat.lastMessage;
    if (!last || last.id === msg.id || toMillis(msg.timestamp) >= toMillis(last.timestamp)) {
      if (!last || last.id !== msg.id) chat._rank = ++this.seq;
      chat.lastMessage = { ...msg };
      if (toMillis(msg.timestamp) > toMillis(chat.timestamp)) chat.timestamp = msg.timestamp;
    }
    this.chats.set(chat.id, chat);
  }

  // -- messages ---------------------------------------------------------------------------------
  messagesOf(chatId) {
    return [...(this.messages.get(chatId)?.values() || [])].sort(byTime);
  }

  chatMessages(chatId) {
    let map = this.messages.get(chatId);
    if (!map) {
      map = new Map();
      this.messages.set(chatId, map);
    }
    return map;
  }

  /**
   * A message from the server: a frame, or a REST answer asked for when the frame count was
   * ``since`` (what frames changed in the message since then stays).
   */
  addMessage(msg, { emit = true, since } = {}) {
    if (this.gone.has(msg.id)) return;
    const map = this.chatMessages(msg.chatId);
    const old = map.get(msg.id);
    if (old && since !== undefined && (this.frameAt.get(msg.id) || 0) > since) {
      msg = { ...msg };
      for (const key of LIVE_FIELDS) msg[key] = old[key];
    }
    if (old && old.revoked) msg = { ...msg, ...REVOKED }; // a revoke is final
    const early = this.earlyChanges.get(msg.id);
    if (early) {
      // Frames (a reaction, an edit) that came while the page with this message travelled.
      this.earlyChanges.delete(msg.id);
      msg = { ...msg };
      for (const change of early) Object.assign(msg, change(msg));
    }
    let seq = old ? old._seq : msg._seq;
    if (!old && msg.fromMe) {
      // The socket may bring our own message before the send's reply: it takes the place
      // of the pending bubble with the same text (or caption, or place), so the message never
      // shows twice.
      // Only a send on its way (or whose fate is unknown) can have made it: one still queued
      // in the page has not left, so a message typed the same elsewhere leaves it alone.
      const key = sendKey(msg);
      const local = [...map.values()].find((m) => m.local && m.ack >= 0 && (m.sendState === 'sending' || m.unconfirmed) && sendKey(m) === key);
      if (local) {
        map.delete(local.id);
        this.keepSent(msg.id);
        seq = local._seq;
        const chat = this.chats.get(msg.chatId);
        if (chat && chat.lastMessage && chat.lastMessage.id === local.id) chat.lastMessage = null;
      }
    }
    let ack = old ? mergeAck(old.ack, msg.ack) : msg.ack;
    if (this.earlyAcks.has(msg.id)) {
      ack = mergeAck(ack, this.earlyAcks.get(msg.id));
      this.earlyAcks.delete(msg.id);
    }
    map.set(msg.id, { ...msg, ack, _seq: seq || ++this.seq });
    this.touchChat(map.get(msg.id));
    if (emit) {
      this.emit('messages', { chatId: msg.chatId });
      this.emit('chats');
    }
  }

  /**
   * A REST page of messages (newest first); ``total`` says whether older ones remain. The
   * messages kept for a chat are always one unbroken run of its newest ones, so that the
   * next older page starts right after them (``serverCount`` is its offset): a newest page
   * for a chat that was not loaded, or that does not meet what is kept, replaces it.
   */
  setMessages(chatId, items, total, { older = false, since } = {}) {
    const map = this.chatMessages(chatId);
    const kept = this.serverCount(chatId);
    if (!older && (!this.loadedChats.has(chatId) || (kept && items.length && !items.some((m) => map.has(m.id))))) {
      // What frames brought while the page travelled is newer than it, and stays.
      const floor = items.length ? toMillis(items[items.length - 1].timestamp) : -Infinity;
      for (const [id, msg] of map) if (!msg.local && toMillis(msg.timestamp) < floor) map.delete(id);
    }
    // Messages of one second keep the server's order: a newest page goes in oldest first, an
    // older page newest first with ever smaller sequence numbers, before all the others.
    if (older) for (const msg of items) this.addMessage({ ...msg, _seq: --this.lowSeq }, { emit: false, since });
    else for (const msg of [...items].reverse()) this.addMessage(msg, { emit: false, since });
    this.loadedChats.add(chatId);
    this.hasOlder.set(chatId, this.serverCount(chatId) < total);
    this.reconcile(chatId);
    this.emit('messages', { chatId });
    this.emit('chats');
  }

  serverCount(chatId) {
    let n = 0;
    for (const msg of this.messages.get(chatId)?.values() || []) if (!msg.local) n += 1;
    return n;
  }

  /** Does this page keep the chat's messages up to date (open, loaded, or with sends)? */
  follows(chatId) {
    if (chatId === this.openChatId || this.loadedChats.has(chatId)) return true;
    for (const msg of this.messages.get(chatId)?.values() || []) if (msg.local) return true;
    return false;
  }

  /** A message frame: kept for followed chats; for the others only their list row changes. */
  frameMessage(msg) {
    this.frameAt.set(msg.id, this.frames);
    if (this.follows(msg.chatId)) {
      this.addMessage(msg);
    } else {
      this.touchChat(msg);
      this.emit('chats');
    }
  }

  /** After a reconnection: chats other than the open one load afresh when opened. */
  forgetLoaded(exceptChatId) {
    for (const chatId of [...this.loadedChats]) if (chatId !== exceptChatId) this.loadedChats.delete(chatId);
  }

  setAck({ id, chatId, ack }) {
    const msg = this.messages.get(chatId)?.get(id);
    if (msg) {
      msg.ack = mergeAck(msg.ack, ack);
      this.emit('messages', { chatId });
    } else if (this.follows(chatId)) {
      this.earlyAcks.set(id, mergeAck(this.earlyAcks.get(id) ?? 0, ack));
    }
    const chat = this.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === id) {
      chat.lastMessage = { ...chat.lastMessage, ack: mergeAck(chat.lastMessage.ack, ack) };
      this.emit('chats');
    }
  }

  // -- what happens to a message afterwards (frames) ----------------------------------------------
  /** Change a kept message (and the chat's last message when it is that one) after a frame. */
  changeMessage(chatId, id, change) {
    this.frameAt.set(id, this.frames);
    const msg = this.messages.get(chatId)?.get(id);
    if (msg) {
      Object.assign(msg, change(msg));
      this.emit('messages', { chatId });
    } else if (this.follows(chatId)) {
      this.earlyChanges.set(id, [...(this.earlyChanges.get(id) || []), change]);
      if (this.earlyChanges.size > KEPT_IDS) this.earlyChanges.delete(this.earlyChanges.keys().next().value);
    }
    const chat = this.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === id) {
      chat.lastMessage = { ...chat.lastMessage, ...change(chat.lastMessage) };
      this.emit('chats');
    }
  }

  /** ``{id, chatId, from, emoji, fromMe, timestamp}``: one reaction per person; '' takes it back. */
  setReaction({ id, chatId, from, emoji, fromMe, timestamp }) {
    this.changeMessage(chatId, id, (msg) => {
      const others = (msg.reactions || []).filter((r) => r.from !== from && !(fromMe && r.fromMe));
      return { reactions: emoji ? [...others, { from, emoji, fromMe: !!fromMe, timestamp }] : others };
    });
  }

  /** ``{id, chatId, body, caption}``: the message's new text. */
  setEdited({ id, chatId, body, caption }) {
    this.changeMessage(chatId, id, () => ({ body: body ?? '', caption: caption ?? null, edited: true }));
  }

  /** ``{id, chatId}``: deleted for everyone; the bubble stays, empty. */
  setRevoked({ id, chatId }) {
    this.changeMessage(chatId, id, () => ({ ...REVOKED }));
  }

  /** ``{id, chatId}``: deleted for me; the bubble goes, and no later REST page brings it back. */
  removeMessage({ id, chatId }) {
    this.gone.add(id);
    if (this.gone.size > KEPT_IDS) this.gone.delete(this.gone.values().next().value);
    this.earlyAcks.delete(id);
    this.messages.get(chatId)?.delete(id);
    const chat = this.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === id) {
      const rest = this.messagesOf(chatId);
      chat.lastMessage = rest.length ? rest[rest.length - 1] : null;
    }
    this.emit('messages', { chatId });
    this.emit('chats');
  }

  /** A message an action answered (a reaction, an edit), asked for at frame count ``since``. */
  fromAction(msg, since) {
    if (msg && msg.id && this.follows(msg.chatId)) this.addMessage(msg, { since });
  }

  /** A chat a REST call answered (a read), unless a frame about it came after ``since``. */
  chatFromRest(chat, since) {
    if (chat && chat.id && (this.liveAt.get(chat.id) || 0) <= since) this.upsertChat(chat);
  }

  // -- the composer's optimistic messages ----------------------------------------------------------
  /**
   * A pending bubble for a send: a text (a string), or what the send will make (``{body,
   * caption, type, media, location, quoted, quotedId}``, its ``request`` kept for a retry).
   * Its ``sendState`` follows the page's outbox: 'queued', 'sending', 'waiting' (to try again
   * after a refusal or a lost connection), 'failed' (shown with retry and discard).
   */
  addPending(chatId, preview) {
    const id = `local-${++this.seq}`;
    const shape = typeof preview === 'string' ? { body: preview, type: 'chat' } : preview;
    const msg = {
      body: '', caption: null, media: null, location: null, quoted: null, quotedId: null, reactions: [], edited: false, revoked: false,
      ...shape,
      id, chatId, fromMe: true, ack: 0, from: '', to: chatId,
      timestamp: new Date().toISOString(), local: true, sentAt: Date.now(), _seq: this.seq, sendState: 'queued',
    };
    this.chatMessages(chatId).set(id, msg);
    this.touchChat(msg);
    this.emit('messages', { chatId });
    this.emit('chats');
    return id;
  }

  /** The server answered the send: the pending bubble becomes the real message. */
  settle(localId, chatId, serverMsg) {
    const map = this.chatMessages(chatId);
    const local = map.get(localId);
    map.delete(localId);
    const chat = this.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === localId) chat.lastMessage = null;
    this.keepSent(serverMsg.id);
    this.addMessage({ ...serverMsg, _seq: local ? local._seq : undefined });
  }

  /** A message known to be one of this page's sends: no other pending bubble is it. */
  keepSent(id) {
    this.sentIds.add(id);
    if (this.sentIds.size > KEPT_IDS) this.sentIds.delete(this.sentIds.values().next().value);
  }

  /** A pending bubble still there (not settled, replaced by the server's message, or discarded)? */
  pending(chatId, localId) {
    const msg = this.messages.get(chatId)?.get(localId);
    return msg && msg.local ? msg : null;
  }

  /** Where a pending send is in the outbox (see ``addPending``). */
  setSendState(chatId, localId, sendState, { unconfirmed } = {}) {
    const msg = this.pending(chatId, localId);
    if (!msg) return;
    msg.sendState = sendState;
    if (sendState === 'sending') msg.sentAt = Date.now();
    if (unconfirmed !== undefined) msg.unconfirmed = unconfirmed;
    this.emit('messages', { chatId });
  }

  /** The send failed for good: ``text`` says why (the bubble offers retry and discard). */
  fail(localId, chatId, error, text) {
    const msg = this.pending(chatId, localId);
    if (!msg) return;
    msg.ack = -1;
    msg.sendState = 'failed';
    msg.error = text || error.message || '';
    // Without an answer the message may have gone anyway: the next REST load decides.
    msg.unconfirmed = UNANSWERED.has(error.code);
    this.emit('messages', { chatId });
    this.emit('chats');
  }

  removeLocal(chatId, localId) {
    this.messages.get(chatId)?.delete(localId);
    const chat = this.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === localId) {
      const rest = this.messagesOf(chatId);
      chat.lastMessage = rest.length ? rest[rest.length - 1] : null;
    }
    this.emit('messages', { chatId });
    this.emit('chats');
  }

  /** Unconfirmed sends that the server did store are dropped in favour of the stored message. */
  reconcile(chatId) {
    const map = this.messages.get(chatId);
    if (!map) return;
    const claimed = new Set();
    for (const local of [...map.values()].filter((m) => m.local && m.unconfirmed)) {
      const key = sendKey(local);
      const match = [...map.values()].find(
        (m) => !m.local && m.fromMe && sendKey(m) === key && !claimed.has(m.id) && !this.sentIds.has(m.id) && toMillis(m.timestamp) >= local.sentAt - 120000,
      );
      if (match) {
        claimed.add(match.id);
        this.keepSent(match.id);
        map.delete(local.id);
      }
    }
  }
}

export function mergeAck(current, incoming) {
  if (incoming === undefined || incoming === null) return current;
  if (current === undefined || current === null) return incoming;
  if (incoming < 0) return current >= 1 ? current : -1;
  return Math.max(current, incoming);
}
