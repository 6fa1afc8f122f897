/*
 * The page's connection to the simulator's server (/ws/chat; protocol in session.py), its
 * storage (the device credential in IndexedDB `wawc` and localStorage of this origin), and
 * the little it draws. Boot: the modules exist at once; Debug.VERSION appears after the boot
 * delay; the websocket opens after the connect delay (Socket.state stays OPENING till then).
 * In the 2026-08 generation an incoming message first lands as a `ciphertext` placeholder and
 * is decrypted decryptDelay later (the same model: change:type).
 */
(function () {
  'use strict';
  const config = require('FakeWAConfig');
  const { Socket, Conn, Cmd, Msg, Chat: ChatModel, asWid, collections, MEDIA_TYPES } = require('FakeWAModels');
  const people = () => require('FakeWAPeople');
  const linking = () => require('FakeWALinking');

  const CREDENTIAL_KEY = 'WAWebDeviceCredential';
  const DB_NAME = 'wawc';
  const STORE = 'user';

  let ws = null;
  let credential = null;
  let keys = null;
  let stopped = false; // a terminal state, or logging out: no reconnecting by itself
  let loggingOut = false;
  let connected = false; // the server accepted the credential on this socket
  let synced = false;
  let reconnectTimer = null;
  const pending = new Map(); // key _serialized -> {msg, resolve}: sent, not yet acked by the server
  const requests = new Map(); // rid -> {resolve, reject}: react, edit, revoke, delete awaiting a result
  let nextRid = 1;

  // -- storage ----------------------------------------------------------------------------
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function loadCredential() {
    try {
      const db = await openDb();
      const value = await new Promise((resolve, reject) => {
        const req = db.transaction(STORE, 'readonly').objectStore(STORE).get('credential');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      db.close();
      if (value) return value;
    } catch (e) { console.warn('fakewa: IndexedDB unreadable', e); }
    try {
      return JSON.parse(localStorage.getItem(CREDENTIAL_KEY) || 'null');
    } catch (e) { return null; }
  }

  async function storeCredential(cred, me) {
    localStorage.setItem(CREDENTIAL_KEY, JSON.stringify(cred));
    localStorage.setItem('last-wid-md', JSON.stringify(cred.deviceId + '@c.us'));
    localStorage.setItem('last-wid', JSON.stringify(me));
    const db = await openDb();
    await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
      tx.objectStore(STORE).put(cred, 'credential');
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }

  async function clearStorage() {
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* nothing stored */ }
    const dbs = indexedDB.databases ? await indexedDB.databases() : [{ name: DB_NAME }];
    await Promise.all(dbs.map((d) => new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(d.name);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    })));
  }

  // -- the socket -------------------------------------------------------------------------
  function b64(bytes) { return require('WABase64').encodeB64(bytes); }

  function connect(takeover) {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws) { ws.onclose = null; ws.close(); }
    connected = false;
    const socket = ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/chat');
    socket.onopen = () => frame({
      type: 'hello', cred: credential, platform: 'WEB', takeover: !!takeover,
      keys: credential ? null : { static: b64(keys.static), identity: b64(keys.identity), adv: b64(keys.adv) },
    });
    socket.onmessage = (event) => {
      if (socket !== ws) return;
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      handle(message);
    };
    socket.onclose = () => {
      if (socket !== ws) return;
      ws = null;
      dropped();
    };
  }

  function frame(message) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function dropped() {
    connected = false;
    for (const r of requests.values()) r.reject(new Error('the connection to WhatsApp was lost'));
    requests.clear();
    Socket.set('stream', 'DISCONNECTED');
    if (stopped) return;
    if (Socket.state === 'CONNECTED' || Socket.state === 'PAIRING') setState('TIMEOUT');
    if (!reconnectTimer) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        if (!stopped) connect(false);
      }, config.reconnectDelay);
    }
  }

  function setState(state) {
    Socket.set('state', state);
    render();
  }

  function handle(m) {
    switch (m.type) {
      case 'ref':
        Conn.set('ref', m.ref); // before the state, so a change:state listener reads the new ref
        setState('UNPAIRED');
        break;
      case 'idle': setState('UNPAIRED_IDLE'); break;
      case 'pairing':
        linking().primaryHello();
        setState('PAIRING');
        break;
      case 'paired':
        credential = m.cred;
        storeCredential(m.cred, m.me).catch((e) => console.error('fakewa: storing the credential failed', e))
          .then(() => frame({ type: 'login', cred: m.cred }));
        break;
      case 'connected': onConnected(m); break;
      case 'sync': onSync(m); break;
      case 'event':
        applyEvent(m.kind, m.data);
        frame({ type: 'received', seq: m.seq });
        break;
      case 'send_error': onSendError(m); break;
      case 'result': onResult(m); break;
      case 'state': onForcedState(m.state); break;
      case 'logged_out': loggedOut(m.reason); break;
      default: console.warn('fakewa: unknown frame', m);
    }
  }

  function onConnected(m) {
    connected = true;
    linking().stop();
    require('FakeWARuntime').loadLazy(); // the chunk the site loads once logged in
    const me = asWid(m.me);
    Conn.set({ wid: me, lid: m.lid ? asWid(m.lid) : null, pushname: m.pushname || null });
    if (!collections.Contact.get(me)) collections.Contact.add({ id: me, pushname: m.pushname || undefined, isMe: true });
    Socket.set('stream', 'CONNECTED');
    setState('CONNECTED');
    for (const p of pending.values()) sendFrame(p.msg);
  }

  function upsertChat(c) {
    const chat = collections.Chat.get(c.id);
    if (chat) {
      chat.set({ unreadCount: c.unreadCount, t: Math.max(chat.t || 0, c.t || 0) });
      return chat;
    }
    return collections.Chat.add(new ChatModel({ id: c.id, name: c.name || undefined,
      formattedTitle: c.formattedTitle, unreadCount: c.unreadCount, t: c.t }));
  }

  function addMsg(data, chat, isNew) {
    const existing = collections.Msg.get(data.id._serialized);
    if (existing) {
      if (data.ack > existing.ack) existing.set('ack', data.ack);
      return null;
    }
    const full = Object.assign({}, data, { isNewMsg: isNew, self: data.id.fromMe ? 'out' : 'in' });
    const encrypted = isNew && !data.id.fromMe && config.generation >= '2026-08' && data.type !== 'revoked';
    const msg = new Msg(encrypted ? placeholder(full) : full);
    collections.Msg.add(msg);
    chat.msgs.add(msg);
    if (encrypted) setTimeout(() => decrypt(msg, full), config.decryptDelay);
    return msg;
  }

  /** What a message is before its keys arrive: who, when, and nothing of what it says. */
  function placeholder(full) {
    const out = { type: 'ciphertext', body: '' };
    for (const k of ['id', 'from', 'to', 'author', 't', 'ack', 'isNewMsg', 'self']) if (full[k] !== undefined) out[k] = full[k];
    return out;
  }

  function decrypt(msg, full) {
    if (msg.type !== 'ciphertext') return; // deleted or changed meanwhile
    const rest = Object.assign({}, full);
    delete rest.id;
    delete rest.isNewMsg;
    msg.set(rest);
  }

  function onSync(m) {
    for (const c of m.contacts || []) people().upsertContact(c);
    for (const g of m.groups || []) people().upsertGroup(g, null);
    people().setTimelock(m.timelock);
    for (const c of m.chats || []) {
      const chat = upsertChat(c);
      for (const data of c.msgs || []) addMsg(data, chat, false);
    }
    if ((m.reactions || []).length) msgActions().reactionTable().bulkUpsert(m.reactions);
    synced = true;
    Cmd.trigger('offline_progress_update_from_bridge');
    Socket.set('hasSynced', true);
    render();
  }

  function applyEvent(kind, data) {
    if (kind === 'msg') {
      const c = data.chat;
      if (data.contact) people().upsertContact(data.contact);
      if (data.group) people().upsertGroup(data.group, c);
      let chat = collections.Chat.get(c.id);
      if (!chat) {
        chat = collections.Chat.add(new ChatModel({ id: c.id, name: c.name || undefined,
          formattedTitle: c.formattedTitle, unreadCount: 0, t: data.msg.t }));
      }
      if (addMsg(data.msg, chat, true)) {
        if (data.msg.t > (chat.t || 0)) chat.set('t', data.msg.t);
        if (!data.msg.id.fromMe) chat.set('unreadCount', c.unreadCount);
        if ((data.reactions || []).length) msgActions().reactionTable().bulkUpsert(data.reactions);
      }
    } else if (kind === 'ack') {
      const msg = collections.Msg.get(data.id);
      if (msg && data.ack > (msg.ack || 0)) msg.set('ack', data.ack);
      const p = pending.get(data.id);
      if (p && data.ack >= 1) {
        pending.delete(data.id);
        p.resolve({ messageSendResult: 'OK' });
      }
    } else if (kind === 'chat') {
      const chat = collections.Chat.get(data.id);
      if (chat) chat.set('unreadCount', data.unreadCount);
    } else if (kind === 'reaction') {
      msgActions().reactionTable().bulkUpsert([data.row]);
    } else if (kind === 'contact') {
      people().upsertContact(data.contact);
    } else if (kind === 'group') {
      people().upsertGroup(data.group, data.chat);
    } else if (kind === 'timelock') {
      people().setTimelock(data);
    } else if (kind === 'edit' || kind === 'revoke' || kind === 'delete') {
      // A message this page does not hold (deleted here, or never loaded) has nothing to change.
      const msg = collections.Msg.get(data.id);
      if (msg && kind === 'edit') msgActions().applyEdit(msg, data);
      if (msg && kind === 'revoke') msgActions().applyRevoke(msg);
      if (msg && kind === 'delete') msgActions().applyDelete(msg);
    }
    scheduleRender();
  }

  function msgActions() { return require('FakeWAMsgActions'); }

  function onResult(m) {
    const r = requests.get(m.rid);
    if (!r) return;
    requests.delete(m.rid);
    if (m.ok) {
      r.resolve(m.value !== undefined ? m.value : true);
      return;
    }
    const error = new Error(m.error || 'refused');
    if (m.status) error.status = m.status;
    r.reject(error);
  }

  function onSendError(m) {
    for (const [key, p] of pending) {
      if (p.msg.id.id !== m.id) continue;
      pending.delete(key);
      p.msg.set('ack', -1);
      p.resolve({ messageSendResult: 'ERROR', error: m.error, code: m.code });
    }
  }

  function onForcedState(state) {
    // TIMEOUT: the server closes the socket and the page reconnects by itself (see dropped()).
    if (state !== 'TIMEOUT') stopped = true;
    setState(state);
  }

  async function loggedOut(reason) {
    if (loggingOut) return;
    loggingOut = stopped = true;
    linking().stop();
    clearTimeout(reconnectTimer);
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    connected = false;
    credential = null;
    Cmd.trigger(reason === 'local' ? 'logout' : 'logout_from_bridge');
    await clearStorage();
    await new Promise((resolve) => setTimeout(resolve, config.logoutDelay));
    location.replace('/?post_logout=1');
  }

  function sendFrame(msg) {
    const a = msg.attributes;
    const kind = a.type || 'chat';
    const f = {
      type: 'send', id: msg.id.id, to: String(msg.id.remote), from: a.from ? String(a.from) : undefined, t: msg.t, kind,
      body: kind === 'chat' ? a.body : '',
    };
    if (MEDIA_TYPES.indexOf(kind) >= 0) {
      f.caption = a.caption;
      f.media = {
        directPath: a.directPath, filehash: a.filehash, mediaKey: a.mediaKey, mimetype: a.mimetype, size: a.size,
        filename: a.filename, duration: a.duration, width: a.width, height: a.height, thumbnail: a.body || null,
      };
    }
    if (kind === 'location') f.location = { lat: a.lat, lng: a.lng, loc: a.loc };
    if (a.quotedStanzaID) f.quoted = { id: a.quotedStanzaID, participant: String(a.quotedParticipant || '') };
    frame(f);
  }

  // -- drawing ----------------------------------------------------------------------------
  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => { renderQueued = false; render(); }, 50);
  }

  function drawQr(canvas, payload) {
    // Not a real QR code: a pattern that changes with the payload, for screenshots.
    const n = 33, cell = 8, ctx = canvas.getContext('2d');
    canvas.width = canvas.height = n * cell;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, n * cell, n * cell);
    ctx.fillStyle = '#111';
    let h = 2166136261;
    for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload.charCodeAt(i), 16777619);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        h ^= h << 13; h ^= h >>> 17; h ^= h << 5;
        const finder = (x < 7 || x > n - 8) && y < 7 || x < 7 && y > n - 8;
        const on = finder ? (Math.max(Math.abs(x % (n - 7) - 3), Math.abs(y % (n - 7) - 3)) !== 2) : (h & 1);
        if (on) ctx.fillRect(x * cell, y * cell, cell, cell);
      }
    }
  }

  function render() {
    const app = document.getElementById('app');
    if (!app) return;
    const state = Socket.state;
    app.dataset.state = state;
    const main = document.createElement('div');
    main.className = 'landing-main';
    if (state === 'UNPAIRED' && Conn.ref) {
      const payload = [Conn.ref, b64(keys.static), b64(keys.identity), b64(keys.adv), 'WEB'].join(',');
      main.innerHTML = '<h1>Use WhatsApp on your computer</h1><div data-ref=""><canvas aria-label="Scan this QR code to link a device!"></canvas></div>';
      main.querySelector('[data-ref]').setAttribute('data-ref', payload);
      drawQr(main.querySelector('canvas'), payload);
    } else if (state === 'UNPAIRED_IDLE') {
      main.innerHTML = '<button type="button">Click to reload QR code</button>';
      main.querySelector('button').onclick = () => Cmd.refreshQR();
    } else if (state === 'CONNECTED') {
      main.id = 'pane-side';
      for (const chat of collections.Chat.getModelsArray().sort((a, b) => (b.t || 0) - (a.t || 0))) {
        const row = document.createElement('div');
        row.setAttribute('role', 'row');
        row.textContent = chat.formattedTitle + (chat.unreadCount ? ' (' + chat.unreadCount + ')' : '');
        main.appendChild(row);
      }
    } else {
      main.textContent = { OPENING: 'Loading...', PAIRING: 'Logging in...' }[state] || state;
    }
    app.replaceChildren(main);
  }

  function ask(message, ready) {
    return new Promise((resolve, reject) => {
      const rid = nextRid++;
      requests.set(rid, { resolve, reject });
      if (!ready || !frame(Object.assign({}, message, { rid }))) {
        requests.delete(rid);
        reject(new Error('not connected to WhatsApp'));
      }
    });
  }

  // -- the module -------------------------------------------------------------------------
  __d('FakeWALink', function () {
    return {
      keys: () => keys,
      config: () => config,
      /** The device's credential, as the CDN wants it for an upload. */
      mediaAuth: () => (credential ? 'WADevice ' + credential.deviceId + ':' + credential.secret : ''),
      /** Send a request frame; resolves with the server's value when it answers, rejects with
       * its reason (and status). */
      request(message) { return ask(message, connected); },
      /** The same for a page that is not linked (yet): only the socket must be open. */
      requestUnpaired(message) { return ask(message, true); },
      offlineProgress: () => (synced ? 100 : 0),
      send(msg) {
        return new Promise((resolve) => {
          pending.set(String(msg.id), { msg, resolve });
          if (connected) sendFrame(msg);
        });
      },
      seen(id) { frame({ type: 'seen', chat: String(id._serialized || id) }); },
      refreshQR() {
        if (Socket.state !== 'UNPAIRED_IDLE' && Socket.state !== 'UNPAIRED') return;
        if (!frame({ type: 'refresh_qr' })) connect(false);
      },
      takeover() {
        if (Socket.state === 'CONFLICT') {
          stopped = false;
          connect(true);
        }
        return Promise.resolve();
      },
      logout() {
        if (connected && frame({ type: 'logout' })) {
          // The server answers logged_out; if it cannot, log out here anyway.
          setTimeout(() => loggedOut('local'), 3000);
          return Promise.resolve();
        }
        return loggedOut('local');
      },
    };
  });

  collections.Chat.on('add change:unreadCount change:t', scheduleRender);

  function randomKey() { return crypto.getRandomValues(new Uint8Array(32)); }
  keys = { static: randomKey(), identity: randomKey(), adv: randomKey() };
  render();
  setTimeout(() => {
    window.Debug.VERSION = config.version;
    loadCredential().then((cred) => {
      credential = cred;
      setTimeout(() => connect(false), config.connectDelay);
    });
  }, config.bootDelay);
})();
