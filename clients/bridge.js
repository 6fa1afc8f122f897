/*
 * The bridge between wamulti and WhatsApp Web: defines window.WADriver.
 *
 * This is the only file that knows WhatsApp Web's modules, attributes and events. Python calls
 * WADriver.* through page.evaluate and hears back through ONE exposed function,
 * window.__wadEmit(type, payloadJson). Events:
 *   state    {state, hasSynced, me, lid, pushname, limits}   every Socket state change (and once
 *                                              on init); a pushname or reach-out timelock change
 *   qr       {qr}                              the full QR payload, on every new ref
 *   code     {code, expiresAt}                 a new pairing code (linking without a QR)
 *   code_expired {}                            the code's refreshes are used up: ask again
 *   code_error {message}                       WhatsApp Web could not give a code
 *   sync     {chats, messages}                 once per page load, when hasSynced is true
 *   lid      {pairs: [{lid, phone}]}           LID <-> phone mappings: at sync every one the page
 *                                              knows (2026-08 pages), later the new ones
 *   message  <message>                         every message added, in and out: new ones
 *                                              (isNewMsg), and after the sync any other one; a
 *                                              ciphertext placeholder (type "ciphertext") again,
 *                                              with the same id, once it is decrypted
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
 * Modules are looked up when a call needs them (some load only after login); a missing one
 * fails with its name ("WAD:module: ..."). Ids are read through fallbacks that outlive the site's
 * minification of MsgKey (`_serialized`, then `$1`, then a MsgKey's own toString(), then built
 * from fromMe, remote, id and participant): an id is a string or null, never "[object Object]".
 *
 * Refusals are Errors whose message starts with "WAD:<code>: " (not_found, refused, expired,
 * media, too_large, not_connected, no_chat, no_qr, send_refused, module); the Python side turns
 * the code into its exception. Files cross the DevTools pipe in chunks of at most MAX_CHUNK bytes:
 * mediaBegin/mediaChunk/sendMedia out, mediaOpen/mediaRead/mediaClose in. Media secrets (mediaKey,
 * directPath...) never leave the page.
 */
(function () {
  'use strict';
  if (window.WADriver && window.WADriver.__installed) return;

  /** A module of the page, looked up now; a missing one fails with its name. */
  function req(name) {
    let mod = null;
    let why = 'not loaded';
    try { mod = window.require(name); } catch (e) { why = reason(e); }
    if (mod === null || mod === undefined) fail('module', 'WhatsApp Web has no module ' + name + ' (' + why + ')');
    return mod;
  }
  const optional = (name) => { try { return window.require(name) || null; } catch (e) { return null; } };

  /** `mod[key]`, which must be there (a function is bound to its module). */
  function member(mod, name, key) {
    const value = mod ? mod[key] : undefined;
    if (value === undefined || value === null) fail('module', 'WhatsApp Web module ' + name + ' has no ' + key);
    return typeof value === 'function' ? value.bind(mod) : value;
  }

  const W = {
    socket: () => member(req('WAWebSocketModel'), 'WAWebSocketModel', 'Socket'),
    conn: () => member(req('WAWebConnModel'), 'WAWebConnModel', 'Conn'),
    cmd: () => member(req('WAWebCmd'), 'WAWebCmd', 'Cmd'),
    collections: () => req('WAWebCollections'),
    meUser: () => member(req('WAWebUserPrefsMeUser'), 'WAWebUserPrefsMeUser', 'getMaybeMePnUser')(),
    meLidUser: () => {
      const m = optional('WAWebUserPrefsMeUser');
      return m && typeof m.getMaybeMeLidUser === 'function' ? m.getMaybeMeLidUser() : null;
    },
    createWid: (id) => member(req('WAWebWidFactory'), 'WAWebWidFactory', 'createWid')(id),
    findChat: (wid) => member(req('WAWebFindChatAction'), 'WAWebFindChatAction', 'findOrCreateLatestChat')(wid),
    msgKey: () => {
      const m = req('WAWebMsgKey');
      return typeof m === 'function' ? m : member(m, 'WAWebMsgKey', m.default ? 'default' : 'MsgKey');
    },
    addAndSend: (chat, attrs) => member(req('WAWebSendMsgChatAction'), 'WAWebSendMsgChatAction', 'addAndSendMsgToChat')(chat, attrs),
  };

  const MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'];
  // send kind -> the message types WhatsApp may prepare the file as
  const KIND_TYPES = {
    image: ['image'], video: ['video'], audio: ['audio'], voice: ['ptt'], document: ['document'], sticker: ['sticker'],
  };
  const EDITABLE_TYPES = ['chat', 'image', 'video', 'document'];
  const MAX_CHUNK = 256 * 1024;       // bytes of file data per call, either way
  const MAX_AUTO_REFRESHES = 5;       // pairing codes WhatsApp Web renews by itself before asking for a click
  const MAX_PENDING = 10000;          // placeholders awaiting decryption, early reactions: bounded
  // WhatsApp's answers per participant when adding to or removing from a group
  const PARTICIPANT_CODES = {
    200: 'ok',
    400: 'WhatsApp did not take the request',
    403: 'not allowed: the participant only lets contacts add them (send an invite instead), or you are not an admin',
    404: 'not on WhatsApp',
    408: 'the participant left the group recently',
    409: 'already in the group',
    417: 'cannot be added to this community',
    419: 'the group is full',
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

  /** A refusal Python turns into an exception of its own (see clients/session.py). */
  function fail(code, message) {
    throw new Error('WAD:' + code + ': ' + message);
  }

  function reason(e) {
    return String((e && e.message) || e || 'unknown error').split('\n')[0].slice(0, 200);
  }

  // -- ids ---------------------------------------------------------------------------------------
  /** A wid's string (`79991234567@c.us`, `...@lid`, `...@g.us`), or null. */
  function widStr(w) {
    if (w === null || w === undefined) return null;
    if (typeof w === 'string') return w || null;
    if (typeof w !== 'object') return null;
    if (typeof w._serialized === 'string' && w._serialized) return w._serialized;
    if (w.user && w.server) return w.user + '@' + w.server;
    return null;
  }

  const KEY_STRING = /^(true|false)_[^_\s]+_[^_\s]+(_[^_\s]+)?$/;

  /** A message key's string, `<fromMe>_<remote>_<id>[_<participant>]`, whatever the site's
   * shape: `_serialized` (before 2.3000.1042), `$1` (after), a real MsgKey's toString(), or built
   * from its fields. Null when none of these gives one. */
  function keyStr(key) {
    if (key === null || key === undefined) return null;
    if (typeof key === 'string') return KEY_STRING.test(key) ? key : null;
    if (typeof key !== 'object') return null;
    for (const field of ['_serialized', '$1']) {
      if (typeof key[field] === 'string' && KEY_STRING.test(key[field])) return key[field];
    }
    let MsgKey = null;
    try { MsgKey = W.msgKey(); } catch (e) { /* not there: the fields below */ }
    if (MsgKey && key instanceof MsgKey) {
      const text = String(key);
      if (KEY_STRING.test(text)) return text;
    }
    const remote = widStr(key.remote);
    if (remote && key.id !== undefined && key.id !== null && typeof key.id !== 'object') {
      const participant = widStr(key.participant);
      return (key.fromMe ? 'true' : 'false') + '_' + remote + '_' + String(key.id) + (participant ? '_' + participant : '');
    }
    return null;
  }

  /** `true_<remote>_<id>[_<participant>]` -> {fromMe, remote, id} */
  function parseKey(serialized) {
    const parts = String(serialized || '').split('_');
    return { fromMe: parts[0] === 'true', remote: parts[1] || null, id: parts[2] || null };
  }

  const isLid = (id) => /@lid$/.test(id || '');
  const isPn = (id) => /@c\.us$/.test(id || '');
  const isGroupId = (id) => /@g\.us$/.test(id || '');

  function me() {
    try { return widStr(W.meUser()); } catch (e) { return null; }
  }

  function meLid() {
    try { return widStr(W.meLidUser()); } catch (e) { return null; }
  }

  function isMe(id) {
    return !!id && (id === me() || id === meLid());
  }

  function apiContact() {
    const api = optional('WAWebApiContact');
    return api && typeof api.getCurrentLid === 'function' && typeof api.getPhoneNumber === 'function' ? api : null;
  }

  /** The LID the page knows for a phone-number id, or null. */
  function lidOf(pn) {
    const api = apiContact();
    if (!api || !isPn(pn)) return null;
    try { return widStr(api.getCurrentLid(W.createWid(pn))); } catch (e) { return null; }
  }

  /** The phone-number id the page knows for a LID, or null. */
  function phoneOf(lid) {
    const api = apiContact();
    if (!api || !isLid(lid)) return null;
    try { return widStr(api.getPhoneNumber(W.createWid(lid))); } catch (e) { return null; }
  }

  // -- serialization ---------------------------------------------------------------------------
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
    const suffix = isGroupId(chatId) && participant ? '_' + participant : '';
    let fromMe = participant ? isMe(participant) : null;
    let model = null;
    if (fromMe === null) {
      model = Msg.get('true_' + chatId + '_' + stanza + suffix) || Msg.get('false_' + chatId + '_' + stanza + suffix) || null;
      fromMe = model ? !!(ser(model).id || {}).fromMe : false;
    }
    const id = (fromMe ? 'true' : 'false') + '_' + chatId + '_' + stanza + suffix;
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
    const own = model && model.id; // the live model's key: a MsgKey, when the serialized one is not enough
    const fromMe = !!(key.fromMe !== undefined ? key.fromMe : own && own.fromMe);
    const from = widStr(s.from);
    const to = widStr(s.to);
    const chatId = widStr(key.remote) || widStr(own && own.remote) || (fromMe ? to : from);
    const type = s.type || 'chat';
    const isMedia = MEDIA_TYPES.indexOf(type) >= 0;
    const revoked = type === 'revoked';  // nothing of it is left to show
    const [quotedId, quoted] = revoked ? [null, null] : quotedOf(s, chatId);
    const textual = !isMedia && !revoked && type !== 'location';
    return {
      id: keyStr(key) || keyStr(own),
      chatId: chatId,
      from: from,
      to: to,
      body: textual && s.body !== null && s.body !== undefined ? String(s.body) : '',
      type: type,
      fromMe: fromMe,
      ack: typeof s.ack === 'number' ? s.ack : 0,
      timestamp: Number(s.t) || 0,
      author: isGroupId(chatId) ? widStr(s.author) || widStr(key.participant) : null,
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

  /** The address book's name, else the name the person gave themselves (their pushname), else
   *  the page's title (for someone not in the address book: their number). */
  function chatTitle(chat, s, id) {
    if (s.name) return s.name;
    if (!s.isGroup && !isGroupId(id)) {
      let contact = null;
      try { contact = chat.contact ? ser(chat.contact) : null; } catch (e) { /* no contact model */ }
      if (contact && (contact.name || contact.pushname)) return contact.name || contact.pushname;
    }
    return s.formattedTitle || (id ? id.split('@')[0] : '');
  }

  function chatDict(chat) {
    const s = ser(chat);
    const msgs = chatMsgs(chat);
    const last = msgs.length ? msgs[msgs.length - 1] : null;
    const id = widStr(s.id) || widStr(chat && chat.id);
    return {
      id: id,
      name: chatTitle(chat, s, id),
      isGroup: !!s.isGroup || isGroupId(id),
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
    const parent = keyStr(row.parentMsgKey || row.reactionParentKey);
    if (!parent) return null;
    const sender = widStr(row.senderUserJid || row.author || row.from);
    const fromMe = sender ? isMe(sender) : parseKey(keyStr(row.msgKey || row.id)).fromMe;
    const ts = Number(row.timestamp !== undefined ? row.timestamp : row.reactionTimestamp) || 0;
    return {
      msgId: parent, chatId: parseKey(parent).remote, sender: sender || (fromMe ? me() : null),
      emoji: row.reactionText ? String(row.reactionText) : '', timestamp: Math.floor(ts > 1e11 ? ts / 1000 : ts),
      fromMe: fromMe,
    };
  }

  // -- state -----------------------------------------------------------------------------------
  /** The limits WhatsApp applies to this account now, as the page knows them (or null). */
  function limits() {
    const mod = optional('WAWebReachoutTimelockModel');
    const lock = mod && mod.ReachoutTimelock;
    if (!lock) return null;
    const active = !!lock.isActive;
    const ends = Number(lock.timeEnforcementEnds) || 0;
    return { reachoutTimelock: { active: active, until: active && ends > 0 ? Math.floor(ends > 1e11 ? ends / 1000 : ends) : null } };
  }

  function status() {
    const socket = W.socket();
    const connected = socket.state === 'CONNECTED';
    let pushname = null;
    try { pushname = W.conn().pushname || null; } catch (e) { /* not yet */ }
    return {
      state: socket.state, hasSynced: !!socket.hasSynced, me: connected ? me() : null, lid: connected ? meLid() : null,
      pushname: connected ? pushname : null, limits: connected ? limits() : null,
    };
  }

  async function qrPayload(ref) {
    if (!ref) return null;
    const b64 = member(req('WABase64'), 'WABase64', 'encodeB64');
    const noise = await req('WAWebUserPrefsInfoStore').waNoiseInfo.get();
    const reg = await req('WAWebSignalStoreApi').waSignalStore.getRegistrationInfo();
    const adv = await member(req('WAWebUserPrefsMultiDevice'), 'WAWebUserPrefsMultiDevice', 'getADVSecretKey')();
    const platform = req('WAWebCompanionRegClientUtils').DEVICE_PLATFORM;
    return [ref, b64(noise.staticKeyPair.pubKey), b64(reg.identityKeyPair.pubKey), adv, platform].join(',');
  }

  let lastRef = null;
  let synced = false;
  let chatTimer = null;
  let lidTimer = null;
  const dirtyChats = new Map();
  const earlyReactions = []; // reactions before the sync event: they follow it
  const encrypted = new Set(); // ids of ciphertext placeholders: reported again once decrypted
  const lidsSent = new Map(); // lid -> phone, as reported in lid events

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
    if (meLid()) emit('lid', { pairs: newLidPairs() }); // a page that knows LIDs tells every mapping first
    emit('sync', { chats: chats.map(chatDict).sort((a, b) => b.timestamp - a.timestamp), messages: messages });
    for (const r of earlyReactions.splice(0)) emit('reaction', r);
  }

  function chatChanged(chat) {
    if (!synced || !chat) return;
    dirtyChats.set(widStr(ser(chat).id) || widStr(chat.id), chat);
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
    try { return W.collections().Chat.get(widStr(key.remote) || widStr(msg.id && msg.id.remote)); } catch (e) { return null; }
  }

  // -- LIDs ------------------------------------------------------------------------------------
  /** Every LID <-> phone mapping the page knows: WAWebApiContact's, and @lid contacts' phoneNumber. */
  function lidPairs() {
    const pairs = new Map();
    const api = apiContact();
    if (api && typeof api.getAllLidContacts === 'function') {
      try {
        for (const lid of api.getAllLidContacts() || []) {
          const l = widStr(lid);
          const p = l && widStr(api.getPhoneNumber(lid));
          if (isLid(l) && isPn(p)) pairs.set(l, p);
        }
      } catch (e) { /* the mapping is best effort */ }
    }
    try {
      for (const c of W.collections().Contact.getModelsArray()) {
        const l = widStr(c.id);
        const p = widStr(c.phoneNumber);
        if (isLid(l) && isPn(p)) pairs.set(l, p);
      }
    } catch (e) { /* no contacts yet */ }
    return pairs;
  }

  /** The mappings not reported yet (and remember them as reported). */
  function newLidPairs() {
    const fresh = [];
    for (const [lid, phone] of lidPairs()) {
      if (lidsSent.get(lid) === phone) continue;
      lidsSent.set(lid, phone);
      fresh.push({ lid: lid, phone: phone });
    }
    return fresh;
  }

  function lidsChanged() {
    if (!synced || lidTimer) return;
    lidTimer = setTimeout(() => {
      lidTimer = null;
      const fresh = newLidPairs();
      if (fresh.length) emit('lid', { pairs: fresh });
    }, 0);
  }

  // -- linking with a code (WhatsApp's own lifecycle: each code lives about 3.25 minutes, the page
  // says when it is up; five refreshes, then a manual request) -------------------------------------
  const pairing = { phone: null, code: null, expiresAt: null, refreshes: 0, epoch: 0, inFlight: null, listening: false };
  const LINK_EVENTS = {
    'link_device_events:refresh_alt_linking_code': () => codeTimeUp(),
    'link_device_events:force_manual_refresh': () => codeExpired(),
    'link_device_events:error_alt_linking': () => codeFailed('WhatsApp Web reported an error while linking with a code'),
  };

  function linkDeviceEvents() {
    const mod = optional('WAWebLinkDeviceEvents');
    return mod && mod.LinkDeviceEvents && typeof mod.LinkDeviceEvents.on === 'function' ? mod.LinkDeviceEvents : null;
  }

  function listenLinking(on) {
    const events = linkDeviceEvents();
    if (!events || pairing.listening === on) return;
    for (const [name, handler] of Object.entries(LINK_EVENTS)) (on ? events.on : events.off).call(events, name, handler);
    pairing.listening = on;
  }

  function stopLinking() {
    pairing.epoch++;
    pairing.phone = pairing.code = pairing.expiresAt = pairing.inFlight = null;
    pairing.refreshes = 0;
    listenLinking(false);
  }

  function formatCode(raw) {
    const text = String(raw || '').toUpperCase().replace(/[^0-9A-Z]/g, '');
    if (text.length !== 8) fail('refused', 'WhatsApp Web gave no usable pairing code');
    return text.slice(0, 4) + '-' + text.slice(4);
  }

  /** Ask WhatsApp Web for a code for the phone of the current flow; emits `code`. */
  async function newCode() {
    const epoch = pairing.epoch;
    const api = req('WAWebAltDeviceLinkingApi');
    member(api, 'WAWebAltDeviceLinkingApi', 'setPairingType')('ALT_DEVICE_LINKING');
    await member(api, 'WAWebAltDeviceLinkingApi', 'initializeAltDeviceLinking')();
    const raw = await member(api, 'WAWebAltDeviceLinkingApi', 'startAltLinkingFlow')(pairing.phone, true);
    if (epoch !== pairing.epoch) fail('refused', 'linking with a code was cancelled');
    pairing.code = formatCode(raw);
    pairing.expiresAt = Math.floor(Date.now() / 1000 + Number(WADriver.options.pairingCodeTtl));
    emit('code', { code: pairing.code, expiresAt: pairing.expiresAt });
    return { code: pairing.code, expiresAt: pairing.expiresAt };
  }

  function codeTimeUp() {
    if (!pairing.phone || pairing.inFlight) return;
    if (pairing.refreshes >= MAX_AUTO_REFRESHES) {
      codeExpired();
      return;
    }
    pairing.refreshes++;
    pairing.code = null;
    const epoch = pairing.epoch;
    pairing.inFlight = newCode().catch((e) => { if (epoch === pairing.epoch) codeFailed(reason(e)); })
      .finally(() => { if (epoch === pairing.epoch) pairing.inFlight = null; });
  }

  function codeExpired() {
    if (!pairing.phone) return;
    stopLinking();
    emit('code_expired', {});
  }

  function codeFailed(message) {
    stopLinking();
    emit('code_error', { message: String(message).replace(/^WAD:[a-z_]+: /, '') });
  }

  // -- listening ---------------------------------------------------------------------------------
  function onReactionRows(rows) {
    for (const row of Array.isArray(rows) ? rows : []) {
      const r = row && reactionDict(row);
      if (!r) continue;
      if (synced) emit('reaction', r);
      else if (earlyReactions.length < MAX_PENDING) earlyReactions.push(r);
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

  /** A ciphertext placeholder: its decrypted self is reported again (change:type). */
  function rememberEncrypted(msg) {
    const id = keyStr(ser(msg).id) || keyStr(msg.id);
    if (id) encrypted.add(id);
    if (encrypted.size > MAX_PENDING) encrypted.delete(encrypted.values().next().value); // the oldest never came
  }

  function install() {
    const socket = W.socket();
    const conn = W.conn();
    const cmd = W.cmd();
    const { Chat, Msg, Contact, GroupMetadata } = W.collections();

    socket.on('change:state', () => {
      if (socket.state === 'CONNECTED') stopLinking();
      emit('state', status());
      if (socket.state === 'UNPAIRED') emitQr(conn.ref);
    });
    socket.on('change:hasSynced', (model, value) => { if (value) setTimeout(emitSync, 0); });
    conn.on('change:ref', (model, ref) => emitQr(ref));
    conn.on('change:pushname', () => { if (socket.state === 'CONNECTED') emit('state', status()); });
    cmd.on('logout', () => { stopLinking(); emit('logout', { reason: 'local' }); });
    cmd.on('logout_from_bridge', () => { stopLinking(); emit('logout', { reason: 'remote' }); });

    // Placeholders that landed before the bridge did are reported again once decrypted, too.
    for (const msg of Msg.getModelsArray()) if (ser(msg).type === 'ciphertext') rememberEncrypted(msg);
    Msg.on('add', (msg) => {
      // After the first sync, a message added to the page is news even when not isNewMsg: it
      // came late, in the history a reconnecting page syncs again.
      const s = ser(msg);
      const isNew = msg.isNewMsg !== undefined ? msg.isNewMsg : s.isNewMsg;
      if (s.type === 'ciphertext') rememberEncrypted(msg);
      if (isNew || synced) emit('message', msgDict(msg));
      if (s.type === 'revoked' && s.protocolMessageKey) { // a revoke that came as a message of its own
        const id = keyStr(s.protocolMessageKey);
        if (id) emit('revoke', { id: id, chatId: parseKey(id).remote || msgDict(msg).chatId });
      }
      chatChanged(chatOf(msg));
    });
    Msg.on('change:ack', (msg, ack) => {
      const m = msgDict(msg);
      emit('ack', { id: m.id, chatId: m.chatId, ack: typeof ack === 'number' ? ack : m.ack });
    });
    Msg.on('change:type', (msg) => {
      const m = msgDict(msg);
      if (m.id && encrypted.delete(m.id) && m.type !== 'revoked' && m.type !== 'ciphertext') {
        emit('message', m); // decrypted: the same id, now with what it says
        chatChanged(chatOf(msg));
        return;
      }
      if (m.type === 'revoked') emit('revoke', { id: m.id, chatId: m.chatId });
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
    if (Contact && typeof Contact.on === 'function') Contact.on('add change:phoneNumber', lidsChanged);
    if (GroupMetadata && typeof GroupMetadata.on === 'function') GroupMetadata.on('add change:participants', lidsChanged);
    const timelock = optional('WAWebReachoutTimelockModel');
    if (timelock && timelock.ReachoutTimelock && typeof timelock.ReachoutTimelock.on === 'function') {
      timelock.ReachoutTimelock.on('change:isActive change:timeEnforcementEnds', () => {
        if (socket.state === 'CONNECTED') emit('state', status());
      });
    }
    hearReactions();
  }

  // -- calls -----------------------------------------------------------------------------------
  function connected() {
    if (W.socket().state !== 'CONNECTED') fail('not_connected', 'not connected (' + W.socket().state + ')');
  }

  /** A chat the page has, by id; a phone-number id also finds the chat of its LID. */
  function existingChat(id) {
    const { Chat } = W.collections();
    const chat = Chat.get(id);
    if (chat || !isPn(id)) return chat || null;
    const lid = lidOf(id);
    return lid ? Chat.get(lid) || null : null;
  }

  /** Ask WhatsApp about a number (queryWidExists): the page learns how the person is reached
   * now, and their LID. Best effort: without the module, or on an error, the page knows what it knew. */
  async function lookUp(pn) {
    const job = optional('WAWebQueryExistsJob');
    if (!job || typeof job.queryWidExists !== 'function') return;
    try { await job.queryWidExists(W.createWid(pn)); } catch (e) { /* what the page knows */ }
  }

  /** A chat the page has for an id, asking WhatsApp about a phone number whose LID chat the
   * page cannot tell yet. */
  async function knownChat(id) {
    let chat = existingChat(id);
    if (!chat && isPn(id) && meLid()) {
      await lookUp(id);
      chat = existingChat(id);
    }
    return chat;
  }

  /** How the phone reaches a phone number now: at its @lid chat when the page knows the person
   * by LID (a LID chat, or an @lid contact), else at the number. Without a chat, WhatsApp is
   * asked first (queryWidExists), which tells the page the person's current addressing. */
  async function reachableId(pn) {
    const { Chat, Contact } = W.collections();
    if (Chat.get(pn)) return pn;
    let lid = lidOf(pn);
    if (!lid || !Chat.get(lid)) {
      await lookUp(pn);
      lid = lidOf(pn);
    }
    return lid && (Chat.get(lid) || Contact.get(lid)) ? lid : pn;
  }

  async function chatFor(chatId) {
    connected();
    if (isGroupId(chatId)) return groupChat(chatId);
    const target = isPn(chatId) && meLid() ? await reachableId(chatId) : chatId;
    const { chat } = await W.findChat(W.createWid(target));
    if (!chat) fail('no_chat', 'WhatsApp Web has no chat ' + target);
    return chat;
  }

  function groupChat(groupId) {
    const chat = W.collections().Chat.get(groupId);
    if (!chat || !isGroupId(widStr(chat.id))) fail('no_chat', 'this account is not in a group ' + groupId);
    return chat;
  }

  /** A message by its id, from the page or its storage. */
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

  /** Send as the site sends: a new MsgKey from the right own id (the LID me-user in a chat by
   * LID and in a group in LID addressing mode), the chat's ephemeral fields,
   * addAndSendMsgToChat. The first message to someone waits for WhatsApp's answer: it may be
   * refused (the reach-out timelock, error 463). */
  async function send(chat, content) {
    const MsgKey = W.msgKey();
    const chatId = widStr(chat.id);
    const group = isGroupId(chatId);
    const meta = group ? chat.groupMetadata : null;
    const byLid = isLid(chatId) || !!(meta && meta.isLidAddressingMode);
    const from = byLid ? W.meLidUser() || W.meUser() : W.meUser();
    const participant = group ? from : undefined;
    const first = !group && chatMsgs(chat).length === 0;
    const key = new MsgKey({ from: from, to: chat.id, id: await MsgKey.newId(), participant: participant, selfDir: 'out' });
    const attrs = {
      id: key, ack: 0, body: '', from: from, to: chat.id, local: true, self: 'out',
      t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat',
    };
    try {  // a chat with disappearing messages needs them on every message it sends
      Object.assign(attrs, req('WAWebGetEphemeralFieldsMsgActionsUtils').getEphemeralFields(chat) || {});
    } catch (e) { /* no such module in this version */ }
    Object.assign(attrs, content, { id: key, from: from, to: chat.id, ack: 0, t: attrs.t, isNewMsg: true });
    if (participant) attrs.author = participant;
    const [added, sent] = W.addAndSend(chat, attrs);
    if (sent && typeof sent.catch === 'function') sent.catch(() => {});
    const msg = await added;
    if (first && sent && typeof sent.then === 'function') refusedSend(await sent, msg);
    return msgDict(msg);
  }

  /** WhatsApp's answer to a first message: a refusal fails with why and until when. */
  function refusedSend(result, msg) {
    const failed = result && result.messageSendResult && result.messageSendResult !== 'OK';
    if (!failed && !(msg && msg.ack === -1)) return;
    const code = result && (result.code || result.errorCode);
    const lock = (limits() || {}).reachoutTimelock;
    const why = lock && lock.active ? 'reachout_timelock' : code ? String(code) : 'refused';
    const until = lock && lock.active && lock.until ? ' until ' + lock.until : '';
    fail('send_refused', why + until + ': WhatsApp refused this first message to a new contact'
      + (lock && lock.active ? ' (the account is time-locked for reaching out)' : '')
      + (result && result.error ? ': ' + String(result.error).slice(0, 200) : ''));
  }

  // -- people and groups -----------------------------------------------------------------------
  function participantsOf(meta) {
    const list = meta && meta.participants;
    if (!list) return [];
    return typeof list.getModelsArray === 'function' ? list.getModelsArray() : (list.models || []);
  }

  function iAmAdmin(chat, meta) {
    if (chat && typeof chat.iAmAdmin === 'function') return !!chat.iAmAdmin();
    for (const p of participantsOf(meta)) if (isMe(widStr(p.id))) return !!(p.isAdmin || p.isSuperAdmin);
    return false;
  }

  /** {id, lid, phone} of a person, whichever form the page has. */
  function personIds(id) {
    return isLid(id) ? { id: id, lid: id, phone: phoneOf(id) } : { id: id, lid: lidOf(id), phone: isPn(id) ? id : null };
  }

  async function refreshGroup(groupId) {
    const job = optional('WAWebGroupQueryJob');
    if (!job || typeof job.queryAndUpdateGroupMetadataById !== 'function') return;
    try { await job.queryAndUpdateGroupMetadataById({ id: groupId }); } catch (e) { /* what the page has */ }
  }

  function participantResults(ids, results, action) {
    const codes = new Map();
    for (const r of results || []) {
      const id = widStr(r.wid || r.id);
      const code = Number(r.code || r.error) || 200;
      if (!id) continue;
      codes.set(id, code);
      const other = isLid(id) ? phoneOf(id) : lidOf(id);
      if (other && !codes.has(other)) codes.set(other, code);
    }
    return ids.map((id) => {
      const status = codes.has(id) ? codes.get(id) : 400;
      const message = status === 404 && action === 'remove' ? 'not a member of the group'
        : PARTICIPANT_CODES[status] || 'WhatsApp answered ' + status;
      return { id: id, status: status, message: message };
    });
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
    version: 3,
    // mediaBufferBytes: file bytes held at once; mediaHandles: transfers at once; mediaIdleMs: a
    // transfer unused this long is dropped; pairingCodeTtl: seconds WhatsApp keeps a pairing code
    // (only to tell expiresAt: the page itself says when a code is up).
    options: { messagesPerChat: 50, mediaBufferBytes: 256 * 1024 * 1024, mediaHandles: 16, mediaIdleMs: 60 * 1000,
      pairingCodeTtl: 195 },

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

    /** A pairing code for linking `phone` (digits) without a QR: {code: 'ABCD-EFGH', expiresAt}.
     * The same phone asked again gets the code that shows; WhatsApp Web renews it when its time
     * is up (`code` events), five times, then `code_expired` until asked again. */
    async requestPairingCode(phone) {
      const digits = String(phone || '');
      if (!/^[0-9]{6,15}$/.test(digits)) fail('refused', 'a phone number has 6 to 15 digits, country code first');
      const state = W.socket().state;
      if (state !== 'UNPAIRED' && state !== 'UNPAIRED_IDLE') {
        fail('no_qr', 'linking with a code is possible only while WhatsApp Web shows a QR code (it is ' + state + ')');
      }
      if (pairing.phone === digits && pairing.code) return { code: pairing.code, expiresAt: pairing.expiresAt };
      if (pairing.phone === digits && pairing.inFlight) {
        await pairing.inFlight;
        if (pairing.code) return { code: pairing.code, expiresAt: pairing.expiresAt };
      }
      stopLinking();
      pairing.phone = digits;
      listenLinking(true);
      try {
        return await newCode();
      } catch (e) {
        const message = reason(e);
        codeFailed(message);
        if (/^WAD:module:/.test(message)) throw e;
        fail('refused', 'WhatsApp Web gave no pairing code: ' + message.replace(/^WAD:[a-z_]+: /, ''));
      }
    },

    chats: allChats,

    async messages(chatId, limit) {
      const chat = await knownChat(chatId);
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
      if (msg.type === 'ciphertext') fail('media', 'the message is still being decrypted: try again in a moment');
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
      const action = member(req('WAWebSendReactionMsgAction'), 'WAWebSendReactionMsgAction', 'sendReactionToMsg');
      try {
        await action(msg, emoji ? String(emoji) : '');
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
      const action = member(req('WAWebSendMessageEditAction'), 'WAWebSendMessageEditAction', 'sendMessageEdit');
      try {
        await action(msg, String(body), {});
      } catch (e) {
        fail('refused', 'WhatsApp did not take the edit: ' + reason(e));
      }
      return msgDict(W.collections().Msg.get(keyStr(msg.id) || msgId) || msg);
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
      const chat = await knownChat(chatId);
      if (!chat) return { unreadCount: 0 };
      const action = req('WAWebUpdateUnreadChatAction');
      try {
        await action.sendSeen({ chat: chat, threadId: undefined });
      } catch (e) {
        await action.sendSeen(chat); // versions before 2.3000 took the chat itself
      }
      return { unreadCount: Number(chat.unreadCount) || 0 };
    },

    /** The people the page knows (not groups, not ourselves). */
    contacts() {
      connected();
      const out = [];
      for (const c of W.collections().Contact.getModelsArray()) {
        const id = widStr(c.id);
        if (!(isLid(id) || isPn(id)) || c.isMe || isMe(id)) continue;
        const ids = personIds(id);
        if (isLid(id) && !ids.phone) ids.phone = widStr(c.phoneNumber);
        out.push(Object.assign(ids, {
          name: str(c.name), pushname: str(c.pushname), isMyContact: !!c.isMyContact, isBusiness: !!c.isBusiness,
        }));
      }
      return out;
    },

    /** Whether a phone number (digits) is on WhatsApp: {exists, id, lid}. */
    async checkNumber(phone) {
      connected();
      const query = member(req('WAWebQueryExistsJob'), 'WAWebQueryExistsJob', 'queryWidExists');
      let found;
      try {
        found = await query(W.createWid(String(phone) + '@c.us'));
      } catch (e) {
        fail('refused', 'WhatsApp did not answer the number check: ' + reason(e));
      }
      const id = found && widStr(found.wid);
      if (!id) return { exists: false, id: null, lid: null };
      return { exists: true, id: id, lid: widStr(found.lid) || (isLid(id) ? id : lidOf(id)) };
    },

    /** The URL of a person's (or group's) profile picture, or null (none, or hidden). */
    async profilePicture(chatId) {
      connected();
      const request = member(req('WAWebContactProfilePicThumbBridge'), 'WAWebContactProfilePicThumbBridge', 'requestProfilePicFromServer');
      // The chat when the page has one (as the site asks), else the person's id: asking must not
      // open a chat (one by number would split a person whose chat is by LID).
      const chat = await knownChat(chatId);
      try {
        const picture = await request(chat || W.createWid(chatId));
        return { url: picture && picture.eurl ? String(picture.eurl) : null };
      } catch (e) {
        if (e && (e.name === 'ServerStatusCodeError' || e.status === 404 || e.status === 401)) return { url: null };
        fail('refused', 'WhatsApp did not give the picture: ' + reason(e));
      }
    },

    /** The groups this account is in. */
    groups() {
      connected();
      return W.collections().Chat.getModelsArray().filter((c) => isGroupId(widStr(c.id))).map((chat) => {
        const meta = chat.groupMetadata;
        const s = ser(chat);
        return {
          id: widStr(chat.id), name: s.name || s.formattedTitle || (meta && meta.subject) || '',
          participants: participantsOf(meta).length, isAdmin: iAmAdmin(chat, meta), lidMode: !!(meta && meta.isLidAddressingMode),
        };
      });
    },

    /** A group's metadata and members, as WhatsApp has them now. */
    async groupInfo(groupId) {
      connected();
      groupChat(groupId);
      await refreshGroup(groupId);
      const chat = groupChat(groupId);
      const meta = chat.groupMetadata;
      if (!meta) fail('no_chat', 'WhatsApp Web has no metadata of the group ' + groupId);
      return {
        id: groupId, name: str(meta.subject) || ser(chat).name || '', description: str(meta.desc), owner: widStr(meta.owner),
        creation: num(meta.creation), lidMode: !!meta.isLidAddressingMode,
        participants: participantsOf(meta).map((p) => Object.assign(personIds(widStr(p.id)), {
          isAdmin: !!(p.isAdmin || p.isSuperAdmin), isSuperAdmin: !!p.isSuperAdmin,
        })),
      };
    },

    /** Create a group with these people (phone-number ids): {id, name, participants: [{id,
     * status, message}]}; numbers not on WhatsApp are left out (404). */
    async createGroup(name, ids) {
      connected();
      const title = String(name || '').trim();
      if (!title) fail('refused', 'a group needs a name');
      const query = member(req('WAWebQueryExistsJob'), 'WAWebQueryExistsJob', 'queryWidExists');
      const create = member(req('WAWebGroupCreateJob'), 'WAWebGroupCreateJob', 'createGroup');
      const wanted = [];
      const results = [];
      for (const id of ids) {
        let found = null;
        try { found = await query(W.createWid(id)); } catch (e) { /* not on WhatsApp */ }
        if (found && found.wid) wanted.push(found.wid);
        else results.push({ wid: id, code: 404 });
      }
      let created;
      try {
        created = await create({
          title: title, addressingModeOverride: 'lid', memberAddMode: false, membershipApprovalMode: false,
          announce: false, restrict: false, ephemeralDuration: 0,
        }, wanted.map((wid) => ({ phoneNumber: wid })));
      } catch (e) {
        fail('refused', 'WhatsApp did not create the group: ' + reason(e));
      }
      const gid = widStr(created && (created.wid || created.gid));
      if (!gid) fail('refused', 'WhatsApp did not create the group');
      for (const p of (created.participants || [])) results.push({ wid: p.wid, code: Number(p.error) || 200 });
      return { id: gid, name: title, participants: participantResults(ids, results, 'add') };
    },

    /** Add people to a group or remove them: [{id, status, message}] with WhatsApp's codes. */
    async groupParticipants(groupId, action, ids) {
      connected();
      if (action !== 'add' && action !== 'remove') fail('refused', 'the action is add or remove');
      groupChat(groupId);
      await refreshGroup(groupId);
      const chat = groupChat(groupId);
      if (!iAmAdmin(chat, chat.groupMetadata)) fail('refused', 'only the admins of a group can ' + action + ' participants');
      const modify = member(req('WAWebModifyParticipantsGroupAction'), 'WAWebModifyParticipantsGroupAction',
        action === 'add' ? 'addParticipants' : 'removeParticipants');
      let results;
      try {
        results = await modify(chat, ids.map((id) => W.createWid(id)));
      } catch (e) {
        fail('refused', 'WhatsApp did not change the participants: ' + reason(e));
      }
      lidsChanged();
      return participantResults(ids, results, action);
    },
  };

  window.WADriver = WADriver;
})();
