/*
 * The bridge between wamulti and WhatsApp Web: defines window.WADriver.
 *
 * This is the only file that knows WhatsApp Web's modules, attributes and events. Python calls
 * WADriver.* through page.evaluate and hears back through ONE exposed function,
 * window.__wadEmit(type, payloadJson). Events:
 *   state   {state, hasSynced, me, pushname}   every Socket state change (and once on init)
 *   qr      {qr}                               the full QR payload, on every new ref
 *   sync    {chats, messages}                  once per page load, when hasSynced is true
 *   message <message>                          every message added, in and out: new ones
 *                                              (isNewMsg), and after the sync any other one
 *   ack     {id, chatId, ack}                  a message's ack changed
 *   chat    <chat>                             a chat list row changed (after the sync)
 *   logout  {reason: 'local' | 'remote'}       the page logged out (it will navigate)
 * Injected after Debug.VERSION appears and again after every navigation; a second injection
 * into the same document does nothing.
 */
(function () {
  'use strict';
  if (window.WADriver && window.WADriver.__installed) return;

  const req = (name) => window.require(name);
  const W = {
    socket: () => req('WAWebSocketModel').Socket,
    conn: () => req('WAWebConnModel').Conn,
    cmd: () => req('WAWebCmd').Cmd,
    collections: () => req('WAWebCollections'),
    meUser: () => req('WAWebUserPrefsMeUser').getMaybeMePnUser(),
    createWid: (id) => req('WAWebWidFactory').createWid(id),
    findChat: (wid) => req('WAWebFindChatAction').findOrCreateLatestChat(wid),
    msgKey: () => {
      const m = req('WAWebMsgKey');
      return typeof m === 'function' ? m : (m.default || m.MsgKey);
    },
    addAndSend: (chat, attrs) => req('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, attrs),
  };

  function emit(type, payload) {
    try {
      const fn = window.__wadEmit;
      if (typeof fn === 'function') {
        const pending = fn(type, JSON.stringify(payload === undefined ? null : payload));
        if (pending && typeof pending.catch === 'function') pending.catch(() => {});
      }
    } catch (e) { /* the driver went away: nothing to tell */ }
  }

  // -- serialization ---------------------------------------------------------------------------
  function widStr(w) {
    if (w === null || w === undefined) return null;
    if (typeof w === 'string') return w;
    if (typeof w._serialized === 'string') return w._serialized;
    if (w.user && w.server) return w.user + '@' + w.server;
    return String(w);
  }

  function ser(model) {
    return model && typeof model.serialize === 'function' ? model.serialize() : (model || {});
  }

  function msgDict(model) {
    const s = ser(model);
    const key = s.id || {};
    const fromMe = !!key.fromMe;
    const from = widStr(s.from);
    const to = widStr(s.to);
    return {
      id: widStr(key._serialized) || widStr(key),
      chatId: widStr(key.remote) || (fromMe ? to : from),
      from: from,
      to: to,
      body: s.body === null || s.body === undefined ? '' : String(s.body),
      type: s.type || 'chat',
      fromMe: fromMe,
      ack: typeof s.ack === 'number' ? s.ack : 0,
      timestamp: Number(s.t) || 0,
    };
  }

  function chatMsgs(chat) {
    const msgs = chat && chat.msgs;
    if (!msgs) return [];
    const list = typeof msgs.getModelsArray === 'function' ? msgs.getModelsArray() : (msgs.models || []);
    return list.slice().sort((a, b) => (Number(ser(a).t) || 0) - (Number(ser(b).t) || 0));
  }

  function chatDict(chat) {
    const s = ser(chat);
    const msgs = chatMsgs(chat);
    const last = msgs.length ? msgs[msgs.length - 1] : null;
    const id = widStr(s.id);
    return {
      id: id,
      name: s.name || s.formattedTitle || (id ? id.split('@')[0] : ''),
      isGroup: !!s.isGroup || (id || '').endsWith('@g.us'),
      unreadCount: Number(s.unreadCount) > 0 ? Number(s.unreadCount) : 0,
      timestamp: Number(s.t) || (last ? Number(ser(last).t) || 0 : 0),
      lastMessage: last ? msgDict(last) : null,
    };
  }

  function allChats() {
    return W.collections().Chat.getModelsArray().map(chatDict)
      .sort((a, b) => b.timestamp - a.timestamp);
  }

  function lastMsgs(chat, limit) {
    const msgs = chatMsgs(chat);
    return (limit > 0 ? msgs.slice(-limit) : []).map(msgDict);
  }

  // -- state -----------------------------------------------------------------------------------
  function me() {
    try { return widStr(W.meUser()); } catch (e) { return null; }
  }

  function status() {
    const socket = W.socket();
    const connected = socket.state === 'CONNECTED';
    let pushname = null;
    try { pushname = W.conn().pushname || null; } catch (e) { /* not yet */ }
    return { state: socket.state, hasSynced: !!socket.hasSynced, me: connected ? me() : null, pushname: connected ? pushname : null };
  }

  async function qrPayload(ref) {
    if (!ref) return null;
    const b64 = req('WABase64').encodeB64;
    const noise = await req('WAWebUserPrefsInfoStore').waNoiseInfo.get();
    const reg = await req('WAWebSignalStoreApi').waSignalStore.getRegistrationInfo();
    const adv = await req('WAWebUserPrefsMultiDevice').getADVSecretKey();
    const platform = req('WAWebCompanionRegClientUtils').DEVICE_PLATFORM;
    return [ref, b64(noise.staticKeyPair.pubKey), b64(reg.identityKeyPair.pubKey), adv, platform].join(',');
  }

  let lastRef = null;
  let synced = false;
  let chatTimer = null;
  const dirtyChats = new Map();

  async function emitQr(ref) {
    if (!ref || ref === lastRef) return;
    const state = W.socket().state;
    // A ref is set just before the state turns UNPAIRED; an old ref stays after pairing.
    if (state !== 'UNPAIRED' && state !== 'UNPAIRED_IDLE' && state !== 'OPENING') return;
    lastRef = ref;
    try {
      const qr = await qrPayload(ref);
      if (qr && ref === lastRef) emit('qr', { qr: qr });
    } catch (e) {
      emit('error', { where: 'qr', message: String(e && e.message || e) });
    }
  }

  function emitSync() {
    if (synced) return;
    synced = true;
    const perChat = WADriver.options.messagesPerChat;
    const chats = W.collections().Chat.getModelsArray();
    const messages = [];
    for (const chat of chats) messages.push(...lastMsgs(chat, perChat));
    emit('sync', { chats: chats.map(chatDict).sort((a, b) => b.timestamp - a.timestamp), messages: messages });
  }

  function chatChanged(chat) {
    if (!synced || !chat) return;
    dirtyChats.set(widStr(ser(chat).id), chat);
    if (chatTimer) return;
    // A new message changes t, unreadCount and msgs at once: one event per chat and tick.
    chatTimer = setTimeout(() => {
      chatTimer = null;
      const chats = Array.from(dirtyChats.values());
      dirtyChats.clear();
      for (const c of chats) emit('chat', chatDict(c));
    }, 0);
  }

  function chatOf(msg) {
    const key = ser(msg).id || {};
    try { return W.collections().Chat.get(widStr(key.remote)); } catch (e) { return null; }
  }

  function install() {
    const socket = W.socket();
    const conn = W.conn();
    const cmd = W.cmd();
    const { Chat, Msg } = W.collections();

    socket.on('change:state', () => {
      emit('state', status());
      if (socket.state === 'UNPAIRED') emitQr(conn.ref);
    });
    socket.on('change:hasSynced', (model, value) => { if (value) setTimeout(emitSync, 0); });
    conn.on('change:ref', (model, ref) => emitQr(ref));
    conn.on('change:pushname', () => { if (socket.state === 'CONNECTED') emit('state', status()); });
    cmd.on('logout', () => emit('logout', { reason: 'local' }));
    cmd.on('logout_from_bridge', () => emit('logout', { reason: 'remote' }));

    Msg.on('add', (msg) => {
      // After the first sync, a message added to the page is news even when not isNewMsg: it
      // came late, in the history a reconnecting page syncs again.
      const isNew = msg.isNewMsg !== undefined ? msg.isNewMsg : ser(msg).isNewMsg;
      if (isNew || synced) emit('message', msgDict(msg));
      chatChanged(chatOf(msg));
    });
    Msg.on('change:ack', (msg, ack) => {
      const m = msgDict(msg);
      emit('ack', { id: m.id, chatId: m.chatId, ack: typeof ack === 'number' ? ack : m.ack });
    });
    Chat.on('add change:unreadCount change:t', (chat) => chatChanged(chat));
  }

  // -- the driver --------------------------------------------------------------------------------
  const WADriver = {
    __installed: true,
    version: 1,
    options: { messagesPerChat: 50 },

    /** Listen to the page and report where it stands (state, QR, sync) as events. */
    init(options) {
      Object.assign(WADriver.options, options || {});
      if (!WADriver.__listening) {
        install();
        WADriver.__listening = true;
      }
      const s = status();
      emit('state', s);
      if (s.state === 'UNPAIRED') emitQr(W.conn().ref);
      if (s.hasSynced) setTimeout(emitSync, 0);
      return { version: WADriver.version, webVersion: String((window.Debug || {}).VERSION || '') };
    },

    status: status,
    qr: () => qrPayload(W.conn().ref),
    refreshQR() { lastRef = null; return Promise.resolve(W.cmd().refreshQR()).then(() => true); },
    takeover() { return Promise.resolve(W.socket().takeover()).then(() => true); },
    logout() { return Promise.resolve(W.socket().logout()).then(() => true); },
    ping: () => W.socket().state,

    chats: allChats,

    messages(chatId, limit) {
      const chat = W.collections().Chat.get(chatId);
      return chat ? lastMsgs(chat, limit) : [];
    },

    async sendText(chatId, body) {
      if (W.socket().state !== 'CONNECTED') throw new Error('not connected (' + W.socket().state + ')');
      const wid = W.createWid(chatId);
      const { chat } = await W.findChat(wid);
      const MsgKey = W.msgKey();
      const meWid = W.meUser();
      const key = new MsgKey({ from: meWid, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' });
      const attrs = {
        id: key, ack: 0, body: String(body), from: meWid, to: chat.id, local: true, self: 'out',
        t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat',
      };
      try {  // a chat with disappearing messages needs them on every message it sends
        Object.assign(attrs, req('WAWebGetEphemeralFieldsMsgActionsUtils').getEphemeralFields(chat) || {});
      } catch (e) { /* no such module in this version */ }
      const [added, sent] = W.addAndSend(chat, attrs);
      if (sent && typeof sent.catch === 'function') sent.catch(() => {});
      return msgDict(await added);
    },
  };

  window.WADriver = WADriver;
})();
