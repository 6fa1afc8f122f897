/*
 * The bridge between wamulti and WhatsApp Web: defines window.WADriver.
 *
 * This is the only file that knows WhatsApp Web's modules, attributes and events. Python calls
 * WADriver.* through page.evaluate and hears back through ONE exposed function,
 * window.__wadEmit(type, payloadJson). Events:
 *   state    {state, hasSynced, me, pushname}  every Socket state change (and once on init)
 *   qr       {qr}                              the full QR payload, on every new ref
 *   sync     {chats, messages}                 once per page load, when hasSynced is true
 *   message  <message>                         every message added, in and out: new ones
 *                                              (isNewMsg), and after the sync any other one
 *   ack      {id, chatId, ack}                 a message's ack changed
 *   chat     <chat>                            a chat list row changed (after the sync)
 *   reaction {msgId, chatId, sender, emoji, timestamp, fromMe}   a reaction landed in the
 *                                              reaction table (emoji "" = removed); those of
 *                                              the sync come right after the sync event
 *   edit     {id, chatId, body, caption, timestamp}  a message's text or caption was edited
 *   revoke   {id, chatId}                      a message was deleted for everyone
 *   logout   {reason: 'local' | 'remote'}      the page logged out (it will navigate)
 * Injected after Debug.VERSION appears and again after every navigation; a second injection
 * into the same document does nothing.
 *
 * Refusals are Errors whose message starts with "WAD:<code>: " (not_found, refused, expired,
 * media, too_large); the Python side turns the code into its exception. Files cross the
 * DevTools pipe in chunks of at most MAX_CHUNK bytes: mediaBegin/mediaChunk/sendMedia out,
 * mediaOpen/mediaRead/mediaClose in. Media secrets (mediaKey, directPath...) never leave the page.
 */
(function () {
  'use strict';
  if (window.WADriver && window.WADriver.__installed) return;

  const req = (name) => window.require(name);
  const optional = (name) => { try { return window.require(name); } catch (e) { return null; } };
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

  const MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'];
  // send kind -> the message types WhatsApp may prepare the file as
  const KIND_TYPES = {
    image: ['image'], video: ['video'], audio: ['audio'], voice: ['ptt'], document: ['document'], sticker: ['sticker'],
  };
  const EDITABLE_TYPES = ['chat', 'image', 'video', 'document'];
  const MAX_CHUNK = 256 * 1024;       // bytes of file data per call, either way

  function emit(type, payload) {
    try {
      const fn = window.__wadEmit;
      if (typeof fn === 'function') {
        const pending = fn(type, JSON.stringify(payload === undefined ? null : payload));
        if (pending && typeof pending.catch === 'function') pending.catch(() => {});
      }
    } catch (e) { /* the driver went away: nothing to tell */ }
  }

  /** A refusal Python turns into an exception of its own (see clients/session.py). */
  function fail(code, message) {
    throw new Error('WAD:' + code + ': ' + message);
  }

  function reason(e) {
    return String((e && e.message) || e || 'unknown error').split('\n')[0].slice(0, 200);
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

  function num(v) {
    if (v === null || v === undefined || v === '') return null;
    const n = Number(v);
    return isFinite(n) ? n : null;
  }

  function str(v) {
    return v === null || v === undefined || v === '' ? null : String(v);
  }

  /** `true_<remote>_<id>` -> {fromMe, remote, id} */
  function parseKey(serialized) {
    const parts = String(serialized || '').split('_');
    return { fromMe: parts[0] === 'true', remote: parts[1] || null, id: parts[2] || null };
  }

  function mediaDict(s, type) {
    const inline = typeof s.body === 'string' && s.body.startsWith('/9j/'); // a JPEG, base64
    return {
      mimetype: str(s.mimetype), filename: str(s.filename), size: num(s.size), duration: num(s.duration),
      width: num(s.width), height: num(s.height),
      thumbnail: (type === 'image' || type === 'video') && inline ? s.body : null,
    };
  }

  function locationDict(s) {
    const loc = s.loc === null || s.loc === undefined ? '' : String(s.loc);
    const cut = loc.indexOf('\n');
    return {
      latitude: num(s.lat), longitude: num(s.lng),
      name: str(cut >= 0 ? loc.slice(0, cut) : loc), address: str(cut >= 0 ? loc.slice(cut + 1) : ''),
    };
  }

  /** [quotedId, quoted snippet] of a reply, from quotedStanzaID / quotedParticipant / quotedMsg. */
  function quotedOf(s, chatId) {
    if (!s.quotedStanzaID) return [null, null];
    const participant = widStr(s.quotedParticipant);
    const { Msg } = W.collections();
    const stanza = String(s.quotedStanzaID);
    let fromMe = participant ? participant === me() : null;
    let model = null;
    if (fromMe === null) {
      model = Msg.get('true_' + chatId + '_' + stanza) || Msg.get('false_' + chatId + '_' + stanza) || null;
      fromMe = model ? !!ser(model).id.fromMe : false;
    }
    const id = (fromMe ? 'true' : 'false') + '_' + chatId + '_' + stanza;
    const q = s.quotedMsg || ser(model || Msg.get(id)) || {};
    const type = q.type || 'chat';
    const text = type === 'chat' ? q.body : q.caption;
    return [id, {
      id: id, body: text === null || text === undefined ? '' : String(text), type: type, fromMe: fromMe,
      from: participant || (fromMe ? me() : chatId),
    }];
  }

  function msgDict(model) {
    const s = ser(model);
    const key = s.id || {};
    const fromMe = !!key.fromMe;
    const from = widStr(s.from);
    const to = widStr(s.to);
    const chatId = widStr(key.remote) || (fromMe ? to : from);
    const type = s.type || 'chat';
    const isMedia = MEDIA_TYPES.indexOf(type) >= 0;
    const revoked = type === 'revoked';  // nothing of it is left to show
    const [quotedId, quoted] = revoked ? [null, null] : quotedOf(s, chatId);
    const textual = !isMedia && !revoked && type !== 'location';
    return {
      id: widStr(key._serialized) || widStr(key),
      chatId: chatId,
      from: from,
      to: to,
      body: textual && s.body !== null && s.body !== undefined ? String(s.body) : '',
      type: type,
      fromMe: fromMe,
      ack: typeof s.ack === 'number' ? s.ack : 0,
      timestamp: Number(s.t) || 0,
      author: (chatId || '').endsWith('@g.us') ? widStr(s.author) : null,
      caption: isMedia ? str(s.caption) : null,
      quotedId: quotedId,
      quoted: quoted,
      media: isMedia ? mediaDict(s, type) : null,
      location: type === 'location' ? locationDict(s) : null,
      edited: !revoked && !!(s.latestEditMsgKey || s.latestEditSenderTimestampMs || s.editMsgType),
      revoked: revoked,
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

  /** A reaction table row, in either shape the site has used. */
  function reactionDict(row) {
    const parent = widStr(row.parentMsgKey || row.reactionParentKey);
    if (!parent) return null;
    const meId = me();
    const sender = widStr(row.senderUserJid || row.author || row.from);
    const fromMe = sender ? sender === meId : parseKey(widStr(row.msgKey || row.id)).fromMe;
    const ts = Number(row.timestamp !== undefined ? row.timestamp : row.reactionTimestamp) || 0;
    return {
      msgId: parent, chatId: parseKey(parent).remote, sender: sender || (fromMe ? meId : null),
      emoji: row.reactionText ? String(row.reactionText) : '', timestamp: Math.floor(ts > 1e11 ? ts / 1000 : ts),
      fromMe: fromMe,
    };
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
  const earlyReactions = []; // reactions before the sync event: they follow it
  const MAX_EARLY_REACTIONS = 10000;

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
      emit('error', { where: 'qr', message: reason(e) });
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
    for (const r of earlyReactions.splice(0)) emit('reaction', r);
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

  function onReactionRows(rows) {
    for (const row of Array.isArray(rows) ? rows : []) {
      const r = row && reactionDict(row);
      if (!r) continue;
      if (synced) emit('reaction', r);
      else if (earlyReactions.length < MAX_EARLY_REACTIONS) earlyReactions.push(r);
    }
  }

  /** Reactions are no model events: every one, ours and others', goes through the reaction
   * table's bulkUpsert, which is wrapped (the original still runs). */
  function hearReactions() {
    const mod = optional('WAWebAddonReactionTableMode');
    const table = mod && mod.reactionTableMode;
    if (!table || typeof table.bulkUpsert !== 'function') {
      emit('error', { where: 'reactions', message: 'no reaction table in this version: reactions are not reported' });
      return;
    }
    if (table.bulkUpsert.__wad) return;
    const original = table.bulkUpsert;
    const wrapped = function (rows) {
      try { onReactionRows(rows); } catch (e) { emit('error', { where: 'reactions', message: reason(e) }); }
      return original.apply(this, arguments);
    };
    wrapped.__wad = true;
    table.bulkUpsert = wrapped;
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
      const s = ser(msg);
      const isNew = msg.isNewMsg !== undefined ? msg.isNewMsg : s.isNewMsg;
      if (isNew || synced) emit('message', msgDict(msg));
      if (s.type === 'revoked' && s.protocolMessageKey) { // a revoke that came as a message of its own
        const id = widStr(s.protocolMessageKey);
        emit('revoke', { id: id, chatId: parseKey(id).remote || msgDict(msg).chatId });
      }
      chatChanged(chatOf(msg));
    });
    Msg.on('change:ack', (msg, ack) => {
      const m = msgDict(msg);
      emit('ack', { id: m.id, chatId: m.chatId, ack: typeof ack === 'number' ? ack : m.ack });
    });
    Msg.on('change:type', (msg, type) => {
      if (type !== 'revoked') return;
      const m = msgDict(msg);
      emit('revoke', { id: m.id, chatId: m.chatId });
    });
    Msg.on('change:body change:caption', (msg) => {
      // Only edits: a revoke empties the body too, and a decrypted message gets its first one.
      const s = ser(msg);
      if (s.type === 'revoked' || !(s.latestEditMsgKey || s.latestEditSenderTimestampMs || s.editMsgType)) return;
      const m = msgDict(msg);
      const at = Number(s.latestEditSenderTimestampMs);
      emit('edit', {
        id: m.id, chatId: m.chatId, body: m.body, caption: m.caption,
        timestamp: at > 0 ? Math.floor(at / 1000) : Math.floor(Date.now() / 1000),
      });
    });
    Chat.on('add change:unreadCount change:t', (chat) => chatChanged(chat));
    hearReactions();
  }

  // -- calls -----------------------------------------------------------------------------------
  function connected() {
    if (W.socket().state !== 'CONNECTED') fail('not_connected', 'not connected (' + W.socket().state + ')');
  }

  async function chatFor(chatId) {
    connected();
    const { chat } = await W.findChat(W.createWid(chatId));
    return chat;
  }

  /** A message by its serialized id, from the page or its storage. */
  async function findMsg(id) {
    if (typeof id !== 'string' || !id) fail('not_found', 'no message id');
    const { Msg } = W.collections();
    let msg = Msg.get(id);
    if (!msg && typeof Msg.getMessagesById === 'function') {
      try {
        const found = await Msg.getMessagesById([id]);
        msg = found && found.messages && found.messages[0];
      } catch (e) { /* not in storage either */ }
    }
    if (!msg) fail('not_found', 'WhatsApp Web does not know message ' + id);
    return msg;
  }

  /** The attributes that make a message a reply to `quotedId` (they spread into its attrs). */
  async function quotedAttrs(chat, quotedId) {
    if (!quotedId) return {};
    const msg = await findMsg(quotedId);
    if (widStr(msg.id.remote) !== widStr(chat.id)) fail('refused', 'the quoted message is in another chat');
    const reply = optional('WAWebMsgReply');
    const target = typeof msg.unsafe === 'function' ? msg.unsafe() : msg;
    const allowed = reply && typeof reply.canReplyMsg === 'function' ? reply.canReplyMsg(target)
      : typeof msg.canReply !== 'function' || msg.canReply();
    if (!allowed) fail('refused', 'WhatsApp does not allow replying to this message');
    return msg.msgContextInfo(chat) || {};
  }

  /** Send as the site sends: a new MsgKey, the chat's ephemeral fields, addAndSendMsgToChat. */
  async function send(chat, content) {
    const MsgKey = W.msgKey();
    const meWid = W.meUser();
    const key = new MsgKey({ from: meWid, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' });
    const attrs = {
      id: key, ack: 0, body: '', from: meWid, to: chat.id, local: true, self: 'out',
      t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat',
    };
    try {  // a chat with disappearing messages needs them on every message it sends
      Object.assign(attrs, req('WAWebGetEphemeralFieldsMsgActionsUtils').getEphemeralFields(chat) || {});
    } catch (e) { /* no such module in this version */ }
    Object.assign(attrs, content, { id: key, from: meWid, to: chat.id, ack: 0, t: attrs.t, isNewMsg: true });
    const [added, sent] = W.addAndSend(chat, attrs);
    if (sent && typeof sent.catch === 'function') sent.catch(() => {});
    return msgDict(await added);
  }

  // -- file transfers over the pipe: bounded, freed on close, send, error and after a minute idle
  const transfers = new Map(); // handle -> {kind: 'up' | 'down', size, used, parts|bytes, received}
  let transferSeq = 0;
  let sweeper = null;

  /** Refuse a transfer of `size` bytes that would pass the page's bounds. */
  function checkRoom(size) {
    const o = WADriver.options;
    let held = 0;
    for (const t of transfers.values()) held += t.size;
    if (transfers.size >= o.mediaHandles) fail('media', 'too many files in transfer in this page at once (' + o.mediaHandles + ')');
    if (held + size > o.mediaBufferBytes) {
      fail('media', 'the page holds at most ' + o.mediaBufferBytes + ' bytes of files at once; ' + held + ' are in transfer');
    }
  }

  function openTransfer(kind, size, entry) {
    const o = WADriver.options;
    checkRoom(size);
    const handle = kind + '-' + (++transferSeq) + '-' + Math.random().toString(36).slice(2, 10);
    transfers.set(handle, Object.assign(entry, { kind: kind, size: size, used: Date.now() }));
    if (!sweeper) {
      const idle = o.mediaIdleMs;
      sweeper = setInterval(() => {
        const now = Date.now();
        for (const [h, t] of transfers) if (now - t.used > idle) closeTransfer(h);
      }, Math.max(50, Math.min(10000, idle / 4)));
    }
    return handle;
  }

  function transfer(handle, kind) {
    const t = transfers.get(handle);
    if (!t || t.kind !== kind) fail('media', 'no such file transfer (closed, or unused for a minute)');
    t.used = Date.now();
    return t;
  }

  function closeTransfer(handle) {
    transfers.delete(handle);
    if (!transfers.size && sweeper) {
      clearInterval(sweeper);
      sweeper = null;
    }
  }

  function toB64(bytes) {
    let out = '';
    for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(out);
  }

  function fromB64(text) {
    let bin;
    try { bin = atob(String(text)); } catch (e) { fail('media', 'a chunk is not base64'); }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function count(value, what) {
    if (!Number.isInteger(value) || value < 0) fail('media', what + ' must be a whole number of bytes');
    return value;
  }

  const quietQpl = { addAnnotations() { return this; }, addPoint() { return this; } };

  /** Prepare, upload and send a file the way the site does. */
  async function sendFile(chat, file, opts) {
    const OpaqueData = req('WAWebMediaOpaqueData');
    const kind = opts.kind;
    let mediaData;
    try {
      const opaque = await OpaqueData.createFromData(file, file.type);
      const prep = req('WAWebPrepRawMedia').prepRawMedia(opaque, {
        asSticker: kind === 'sticker', asGif: false, isPtt: kind === 'voice', asDocument: kind === 'document',
      });
      mediaData = await prep.waitForPrep();
    } catch (e) {
      fail('media', 'WhatsApp Web could not prepare the file: ' + reason(e));
    }
    if (!mediaData || !mediaData.filehash) fail('media', 'WhatsApp Web could not prepare the file (no filehash)');
    if (KIND_TYPES[kind].indexOf(mediaData.type) < 0) {
      fail('media', 'the file is not a valid ' + kind + ' (WhatsApp Web took it for ' + (mediaData.type || 'nothing') + ')');
    }
    const mediaObject = req('WAWebMediaStorage').getOrCreateMediaObject(mediaData.filehash);
    const mediaType = req('WAWebMmsMediaTypes').msgToMediaType({ type: mediaData.type, isGif: mediaData.isGif });
    const gating = optional('WAWebMediaGatingUtils');
    const limit = gating && typeof gating.getUploadLimit === 'function' ? Number(gating.getUploadLimit(mediaType)) : 0;
    if (limit > 0 && file.size > limit) {
      fail('media', 'the file has ' + file.size + ' bytes; WhatsApp takes at most ' + limit + ' bytes for ' + mediaType + ' files');
    }
    if (typeof mediaObject.consolidate === 'function') mediaObject.consolidate(mediaData.toJSON());
    let entry;
    try {
      const uploaded = await req('WAWebMediaMmsV4Upload').uploadMedia({ mimetype: mediaData.mimetype, mediaObject, mediaType });
      entry = uploaded && uploaded.mediaEntry;
    } catch (e) {
      fail('media', 'the upload to WhatsApp failed: ' + reason(e));
    }
    if (!entry) fail('media', 'the upload to WhatsApp failed: no media entry');
    mediaData.set({
      clientUrl: entry.mmsUrl, deprecatedMms3Url: entry.deprecatedMms3Url, directPath: entry.directPath,
      mediaKey: entry.mediaKey, mediaKeyTimestamp: entry.mediaKeyTimestamp, filehash: mediaObject.filehash || mediaData.filehash,
      encFilehash: entry.encFilehash, uploadhash: entry.uploadHash, size: mediaObject.size || mediaData.size,
      streamingSidecar: entry.sidecar, firstFrameSidecar: entry.firstFrameSidecar,
    });
    const json = mediaData.toJSON();
    const content = Object.assign({}, json, {
      type: mediaData.type,
      // The thumbnail travels as the body of pictures and videos, as the site sends them.
      body: (mediaData.type === 'image' || mediaData.type === 'video') && json.preview ? json.preview : '',
    });
    if (opts.caption) content.caption = String(opts.caption);
    if (opts.filename && mediaData.type === 'document') content.filename = String(opts.filename);
    return send(chat, Object.assign(content, opts.quoted || {}));
  }

  // -- the driver --------------------------------------------------------------------------------
  const WADriver = {
    __installed: true,
    version: 2,
    // mediaBufferBytes: file bytes held at once; mediaHandles: transfers at once; mediaIdleMs: a
    // transfer unused this long is dropped.
    options: { messagesPerChat: 50, mediaBufferBytes: 256 * 1024 * 1024, mediaHandles: 16, mediaIdleMs: 60 * 1000 },

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

    /** A text, as a reply to `quotedId` when given; the new message (ack 0). */
    async sendText(chatId, body, quotedId) {
      const chat = await chatFor(chatId);
      const quoted = await quotedAttrs(chat, quotedId);
      return send(chat, Object.assign({ body: String(body), type: 'chat' }, quoted));
    },

    /** A location: {latitude, longitude, name, address, quotedId}. */
    async sendLocation(chatId, place) {
      const p = place || {};
      const lat = Number(p.latitude);
      const lng = Number(p.longitude);
      if (!(Math.abs(lat) <= 90) || !(Math.abs(lng) <= 180)) fail('refused', 'latitude and longitude are out of range');
      const chat = await chatFor(chatId);
      const quoted = await quotedAttrs(chat, p.quotedId);
      const name = p.name ? String(p.name) : '';
      const loc = p.address ? name + '\n' + String(p.address) : name;
      return send(chat, Object.assign({ type: 'location', body: '', lat: lat, lng: lng, loc: loc }, quoted));
    },

    /** Start an upload of `meta.size` bytes; chunks follow (mediaChunk), then sendMedia. */
    mediaBegin(meta) {
      const size = count((meta || {}).size, 'size');
      if (!size) fail('media', 'the file is empty');
      return openTransfer('up', size, { parts: [], received: 0 });
    },

    /** Append at most MAX_CHUNK bytes (base64) to an upload; answers the bytes received so far. */
    mediaChunk(handle, data) {
      const t = transfer(handle, 'up');
      try {
        const bytes = fromB64(data);
        if (bytes.length > MAX_CHUNK) fail('media', 'a chunk carries at most ' + MAX_CHUNK + ' bytes');
        if (t.received + bytes.length > t.size) fail('media', 'more bytes than announced (' + t.size + ')');
        t.parts.push(bytes);
        t.received += bytes.length;
        return t.received;
      } catch (e) {
        closeTransfer(handle);
        throw e;
      }
    },

    /** Send the uploaded file: opts {mimetype, kind, filename, caption, quotedId}. */
    async sendMedia(chatId, handle, opts) {
      const t = transfer(handle, 'up');
      closeTransfer(handle); // whatever happens next, the page lets go of the chunks
      const o = opts || {};
      if (t.received !== t.size) fail('media', 'the upload is incomplete (' + t.received + ' of ' + t.size + ' bytes)');
      if (!KIND_TYPES[o.kind]) fail('media', 'unknown kind ' + o.kind);
      const chat = await chatFor(chatId);
      const quoted = await quotedAttrs(chat, o.quotedId);
      const file = new File(t.parts, o.filename || 'file', { type: String(o.mimetype || 'application/octet-stream') });
      t.parts = null;
      return sendFile(chat, file, { kind: o.kind, caption: o.caption, filename: o.filename, quoted: quoted });
    },

    /** Download a message's file into the page: {handle, size, mimetype, filename}. */
    async mediaOpen(msgId, maxBytes) {
      const msg = await findMsg(msgId);
      if (MEDIA_TYPES.indexOf(msg.type) < 0) {
        fail('media', msg.type === 'revoked' ? 'the message was deleted' : 'the message has no file');
      }
      const limit = maxBytes === null || maxBytes === undefined ? Infinity : Number(maxBytes);
      const declared = Number(msg.size) || 0;
      if (declared > limit) fail('too_large', 'the file has ' + declared + ' bytes, more than the ' + limit + ' allowed');
      checkRoom(declared); // before the page downloads it whole
      const mediaData = msg.mediaData;
      if (!mediaData) fail('media', 'the message has no file');
      if (mediaData.mediaStage === 'REUPLOADING') fail('expired', 'WhatsApp no longer has this file');
      if (mediaData.mediaStage !== 'RESOLVED') {
        await msg.downloadMedia({ downloadEvenIfExpensive: true, rmrReason: 1 });
        const stage = String(msg.mediaData.mediaStage);
        if (stage === 'REUPLOADING') fail('expired', 'WhatsApp no longer has this file');
        if (stage.indexOf('ERROR') >= 0 || stage === 'FETCHING') fail('media', 'WhatsApp Web could not download the file (' + stage + ')');
      }
      let buffer;
      try {
        buffer = await req('WAWebDownloadManager').downloadManager.downloadAndMaybeDecrypt({
          directPath: msg.directPath, encFilehash: msg.encFilehash, filehash: msg.filehash, mediaKey: msg.mediaKey,
          mediaKeyTimestamp: msg.mediaKeyTimestamp, type: msg.type, signal: new AbortController().signal,
          downloadQpl: quietQpl,
        });
      } catch (e) {
        if (e && (e.status === 404 || e.status === 410)) fail('expired', 'WhatsApp no longer has this file');
        fail('media', 'the file could not be downloaded: ' + reason(e));
      }
      const bytes = new Uint8Array(buffer);
      if (bytes.length > limit) fail('too_large', 'the file has ' + bytes.length + ' bytes, more than the ' + limit + ' allowed');
      const handle = openTransfer('down', bytes.length, { bytes: bytes });
      return { handle: handle, size: bytes.length, mimetype: str(msg.mimetype), filename: str(msg.filename) };
    },

    /** At most MAX_CHUNK bytes of an opened download, base64. */
    mediaRead(handle, offset, length) {
      const t = transfer(handle, 'down');
      const from = count(offset, 'offset');
      const n = count(length, 'length');
      if (n > MAX_CHUNK) fail('media', 'a chunk carries at most ' + MAX_CHUNK + ' bytes');
      return toB64(t.bytes.subarray(from, Math.min(from + n, t.bytes.length)));
    },

    /** Let go of an upload or a download. */
    mediaClose(handle) {
      closeTransfer(handle);
      return true;
    },

    /** What the page holds for file transfers now: {count, bytes}. */
    mediaTransfers() {
      let bytes = 0;
      for (const t of transfers.values()) bytes += t.size;
      return { count: transfers.size, bytes: bytes };
    },

    /** React to a message; "" removes our reaction. */
    async react(msgId, emoji) {
      connected();
      const msg = await findMsg(msgId);
      if (msg.type === 'revoked') fail('refused', 'the message was deleted: it takes no reactions');
      try {
        await req('WAWebSendReactionMsgAction').sendReactionToMsg(msg, emoji ? String(emoji) : '');
      } catch (e) {
        fail('refused', 'WhatsApp did not take the reaction: ' + reason(e));
      }
      return true;
    },

    /** Edit our message (a text, or a media message's caption); the edited message. */
    async edit(msgId, body) {
      connected();
      const msg = await findMsg(msgId);
      const type = msg.type;
      if (!msg.id.fromMe) fail('refused', 'only your own messages can be edited');
      if (type === 'revoked') fail('refused', 'the message was deleted');
      if (EDITABLE_TYPES.indexOf(type) < 0) fail('refused', 'a ' + type + ' message cannot be edited');
      if (type === 'chat' && !String(body).trim()) fail('refused', 'a text cannot be edited to nothing');
      const cap = optional('WAWebMsgActionCapability');
      if (cap && typeof cap.canEditMsg === 'function' && !cap.canEditMsg(msg)) {
        fail('refused', 'WhatsApp no longer allows editing this message (edits are allowed for a short while after sending)');
      }
      try {
        await req('WAWebSendMessageEditAction').sendMessageEdit(msg, String(body), {});
      } catch (e) {
        fail('refused', 'WhatsApp did not take the edit: ' + reason(e));
      }
      return msgDict(W.collections().Msg.get(widStr(msg.id._serialized)) || msg);
    },

    /** Delete a message for everyone (ours only), or for this account only. */
    async revoke(msgId, everyone) {
      connected();
      const msg = await findMsg(msgId);
      const remote = widStr(msg.id.remote);
      const chat = W.collections().Chat.get(remote) || (await W.findChat(W.createWid(remote))).chat;
      const which = { list: [msg], type: 'message' };
      try {
        if (everyone) {
          if (msg.type === 'revoked') return true;
          const cap = optional('WAWebMsgActionCapability');
          const can = cap ? cap.canSenderRevokeMsg(msg) || (typeof cap.canAdminRevokeMsg === 'function' && cap.canAdminRevokeMsg(msg))
            : !!msg.id.fromMe;
          if (!can) {
            fail('refused', msg.id.fromMe ? 'this message is too old to be deleted for everyone'
              : 'only your own messages can be deleted for everyone');
          }
          await W.cmd().sendRevokeMsgs(chat, which, { clearMedia: true });
        } else {
          await W.cmd().sendDeleteMsgs(chat, which, true);
        }
      } catch (e) {
        if (String(e && e.message).startsWith('WAD:')) throw e;
        fail('refused', 'WhatsApp did not delete the message: ' + reason(e));
      }
      return true;
    },

    /** Read receipts for a chat (blue ticks on the sender's side) and its unread count to 0. */
    async markRead(chatId) {
      connected();
      const chat = W.collections().Chat.get(chatId);
      if (!chat) return { unreadCount: 0 };
      const action = req('WAWebUpdateUnreadChatAction');
      try {
        await action.sendSeen({ chat: chat, threadId: undefined });
      } catch (e) {
        await action.sendSeen(chat); // versions before 2.3000 took the chat itself
      }
      return { unreadCount: Number(chat.unreadCount) || 0 };
    },
  };

  window.WADriver = WADriver;
})();
