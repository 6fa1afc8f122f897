/*
 * The site's models under the site's module names: ids (WAWebWidFactory, WAWebMsgKey), the
 * collections (WAWebCollections: Chat, Msg, Contact, GroupMetadata), the socket and connection
 * models, Cmd, and the current user (its phone-number and LID wids). A message has the site's
 * attributes for media (mimetype, directPath, mediaKey...: media.js), replies (quotedMsg,
 * quotedStanzaID, quotedParticipant), locations (lat, lng, loc) and edits (latestEditMsgKey...),
 * and the methods drivers call on it: msgContextInfo(chat), downloadMedia(options), mediaData,
 * unsafe().
 *
 * Generations: a 2026-03 MsgKey carries its string as `_serialized`; a 2026-08 one as the
 * minified `$1` (toString() returns it either way), and WAWebMsgCollection exports the Msg
 * collection itself instead of {MsgCollection}.
 */
(function () {
  'use strict';
  const { Emitter, Model, Collection, plain } = require('FakeWARuntime');
  const config = require('FakeWAConfig');
  const KEY_FIELD = config.generation >= '2026-08' ? '$1' : '_serialized';

  const SERVERS = ['c.us', 'g.us', 'lid', 'broadcast', 'newsletter'];

  class Wid {
    constructor(serialized) {
      const text = String(serialized);
      const at = text.indexOf('@');
      const user = at > 0 ? text.slice(0, at) : '';
      const server = at > 0 ? text.slice(at + 1) : '';
      if (!user || SERVERS.indexOf(server) < 0) throw new Error('createWid: invalid wid ' + JSON.stringify(text));
      this.server = server;
      this.user = user;
      this._serialized = text;
    }
    toString() { return this._serialized; }
    equals(other) { return !!other && String(other._serialized || other) === this._serialized; }
    isUser() { return this.server === 'c.us' || this.server === 'lid'; }
    isGroup() { return this.server === 'g.us'; }
    isLid() { return this.server === 'lid'; }
    isStatus() { return this._serialized === 'status@broadcast'; }
    isBroadcast() { return this.server === 'broadcast'; }
    isNewsletter() { return this.server === 'newsletter'; }
    serialize() { return { server: this.server, user: this.user, _serialized: this._serialized }; }
  }

  function asWid(value) {
    if (value instanceof Wid) return value;
    if (value && typeof value === 'object' && value._serialized) return new Wid(value._serialized);
    return new Wid(value);
  }

  __d('WAWebWidFactory', function () {
    return {
      createWid: asWid,
      createWidFromWidLike: asWid,
      createUserWid: (user, server) => new Wid(user + '@' + (server || 'c.us')),
      asUserWidOrThrow: (w) => {
        const wid = asWid(w);
        if (!wid.isUser()) throw new Error('not a user wid: ' + wid);
        return wid;
      },
      isWidlike: (w) => { try { asWid(w); return true; } catch (e) { return false; } },
    };
  });
  __d('WAWebWid', function () { return Wid; });

  function hexId(bytes) {
    const a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  }

  /** A message key: who sent it where; its string `<fromMe>_<remote>_<id>[_<participant>]` is
   * kept as `_serialized` (2026-03) or `$1` (2026-08); toString() returns it. */
  class MsgKey {
    constructor({ from, to, id, participant, selfDir, fromMe, remote }) {
      if (!id) throw new Error('MsgKey error: obj is null/undefined');
      this.fromMe = selfDir !== undefined ? selfDir === 'out' : !!fromMe;
      this.remote = asWid(remote || (this.fromMe ? to : from));
      this.id = String(id);
      if (participant) this.participant = asWid(participant);
      this[KEY_FIELD] = this.fromMe + '_' + this.remote._serialized + '_' + this.id +
        (this.participant ? '_' + this.participant._serialized : '');
    }
    toString() { return this[KEY_FIELD]; }
    equals(other) { return !!other && String(other) === this.toString(); }
    serialize() {
      const out = { fromMe: this.fromMe, remote: this.remote.serialize(), id: this.id };
      out[KEY_FIELD] = this.toString();
      if (this.participant) out.participant = this.participant.serialize();
      return out;
    }
    static newId() { return Promise.resolve('3EB0' + hexId(8)); }
    static fromString(text) {
      const [fromMe, remote, id, participant] = String(text).split('_');
      return new MsgKey({ fromMe: fromMe === 'true', remote, id, participant });
    }
  }
  MsgKey.default = MsgKey;
  MsgKey.MsgKey = MsgKey;
  __d('WAWebMsgKey', function () { return MsgKey; });

  const MEDIA_TYPES = ['image', 'video', 'audio', 'ptt', 'document', 'sticker'];

  class Msg extends Model {
    constructor(attrs) {
      super();
      const a = Object.assign({ type: 'chat', ack: 0, isNewMsg: false }, attrs || {});
      a.id = a.id instanceof MsgKey ? a.id : new MsgKey(a.id);
      for (const k of ['from', 'to', 'author', 'quotedParticipant']) if (a[k]) a[k] = asWid(a[k]);
      this.set(a, { silent: true });
      this._mediaData = null;
    }
    get fromMe() { return this.id.fromMe; }
    get chat() { return require('WAWebCollections').Chat.get(this.id.remote); }
    unsafe() { return this; }

    /** The file of a media message and its download stage (RESOLVED, FETCHING, REUPLOADING...). */
    get mediaData() {
      if (MEDIA_TYPES.indexOf(this.type) < 0) return undefined;
      if (!this._mediaData) this._mediaData = require('FakeWAMedia').mediaDataFor(this);
      return this._mediaData;
    }

    /** Fetch the file from the CDN into mediaData (stage RESOLVED; REUPLOADING when it is gone). */
    downloadMedia(options) { return require('FakeWAMedia').resolve(this, options || {}); }

    /** What a reply to this message carries: spread into the reply's attributes. */
    msgContextInfo(chat) {
      return {
        quotedMsg: { type: this.type, body: this.body, caption: this.caption },
        quotedStanzaID: this.id.id,
        quotedParticipant: this.id.fromMe ? (this.id.participant || this.from) : (this.author || this.from),
        quotedRemoteJid: chat && chat.id ? chat.id : this.id.remote,
      };
    }
  }
  Msg.defineAttributes(['id', 'body', 'type', 't', 'from', 'to', 'author', 'ack', 'isNewMsg',
    'self', 'local', 'notifyName', 'caption', 'star', 'mimetype', 'filename', 'size', 'duration',
    'width', 'height', 'filehash', 'encFilehash', 'directPath', 'mediaKey', 'mediaKeyTimestamp',
    'deprecatedMms3Url', 'clientUrl', 'mediaBlob', 'lat', 'lng', 'loc', 'quotedMsg', 'quotedStanzaID',
    'quotedParticipant', 'latestEditMsgKey', 'latestEditSenderTimestampMs', 'editMsgType',
    'protocolMessageKey']);

  class MsgCollection extends Collection {
    constructor() { super(Msg); }
    /** The messages of these ids this page holds (the site loads the others from its storage). */
    getMessagesById(ids) {
      return Promise.resolve({ messages: (ids || []).map((id) => this.get(id)).filter(Boolean) });
    }
  }

  /** A person this account knows: `id` as their chat is addressed (`@lid` or `@c.us`);
   * an @lid contact whose number is known has it as `phoneNumber`. */
  class Contact extends Model {
    constructor(attrs) {
      super();
      const a = Object.assign({ isUser: true, isGroup: false, isMe: false, isMyContact: false, isBusiness: false,
        type: 'in' }, attrs || {});
      a.id = asWid(a.id);
      if (a.phoneNumber) a.phoneNumber = asWid(a.phoneNumber);
      this.set(a, { silent: true });
    }
  }
  Contact.defineAttributes(['id', 'name', 'pushname', 'shortName', 'isMe', 'isUser', 'isGroup',
    'isMyContact', 'isBusiness', 'phoneNumber', 'type']);

  /** A member of a group: `id` as the group names it (its LID in a group addressed by LID). */
  class Participant extends Model {
    constructor(attrs) {
      super();
      const a = Object.assign({ isAdmin: false, isSuperAdmin: false }, attrs || {});
      a.id = asWid(a.id);
      this.set(a, { silent: true });
    }
  }
  Participant.defineAttributes(['id', 'isAdmin', 'isSuperAdmin']);

  class GroupMetadata extends Model {
    constructor(attrs) {
      super();
      this.participants = new Collection(Participant);
      this.update(attrs || {}, true);
    }
    /** The server's view of the group: attributes and the whole member list. */
    update(info, silent) {
      const a = {
        id: asWid(info.id), subject: info.subject, desc: info.desc || undefined, creation: info.creation,
        owner: info.owner ? asWid(info.owner) : undefined, isLidAddressingMode: !!info.isLidAddressingMode,
      };
      this.set(a, { silent: !!silent });
      const keep = new Set((info.participants || []).map((p) => p.id));
      for (const p of this.participants.getModelsArray()) if (!keep.has(p.id._serialized)) this.participants.remove(p);
      for (const p of info.participants || []) {
        const existing = this.participants.get(p.id);
        if (existing) existing.set({ isAdmin: !!p.isAdmin, isSuperAdmin: !!p.isSuperAdmin });
        else this.participants.add(new Participant(p));
      }
      if (!silent) this.trigger('change:participants', this, this.participants);
      return this;
    }
  }
  GroupMetadata.defineAttributes(['id', 'subject', 'desc', 'creation', 'owner', 'isLidAddressingMode']);

  class Chat extends Model {
    constructor(attrs) {
      super();
      const a = Object.assign({ unreadCount: 0, t: 0, archive: false, pin: 0, isReadOnly: false,
        muteExpiration: 0 }, attrs || {});
      a.id = asWid(a.id);
      a.isGroup = a.id.isGroup();
      if (!a.formattedTitle) a.formattedTitle = a.name || (a.id.isUser() ? '+' + a.id.user : a.id.user);
      this.set(a, { silent: true });
      this.msgs = new MsgCollection();
    }
    get contact() { return require('WAWebCollections').Contact.get(this.id); }
    get groupMetadata() { return this.id.isGroup() ? require('WAWebCollections').GroupMetadata.get(this.id) : undefined; }
    /** Whether this account is an admin of this group. */
    iAmAdmin() {
      const meta = this.groupMetadata;
      const me = meta && meta.isLidAddressingMode ? Conn.lid : Conn.wid;
      const mine = meta && me ? meta.participants.get(me) : null;
      return !!(mine && (mine.isAdmin || mine.isSuperAdmin));
    }
  }
  Chat.defineAttributes(['id', 'name', 'formattedTitle', 'isGroup', 'unreadCount', 't', 'archive',
    'pin', 'isReadOnly', 'muteExpiration']);

  const collections = {
    Chat: new Collection(Chat),
    Msg: new MsgCollection(),
    Contact: new Collection(Contact),
    GroupMetadata: new Collection(GroupMetadata),
  };
  __d('WAWebCollections', function () { return collections; });
  __d('WAWebChatModel', function () { return { Chat }; });
  __d('WAWebMsgModel', function () { return { Msg }; });
  // 2.3000.1044 on: the module exports the collection itself (use WAWebCollections.Msg).
  __d('WAWebMsgCollection', function () {
    return config.generation >= '2026-08' ? collections.Msg : { MsgCollection: collections.Msg };
  });

  class SocketModel extends Model {
    logout() { return require('FakeWALink').logout(); }
    takeover() { return require('FakeWALink').takeover(); }
  }
  SocketModel.defineAttributes(['state', 'hasSynced', 'stream']);
  const Socket = new SocketModel({ state: 'OPENING', hasSynced: false, stream: 'DISCONNECTED' });
  __d('WAWebSocketModel', function () { return { Socket }; });

  class ConnModel extends Model {}
  ConnModel.defineAttributes(['ref', 'pushname', 'platform', 'wid', 'lid']);
  const Conn = new ConnModel({ ref: null, pushname: null, platform: 'web', wid: null, lid: null });
  __d('WAWebConnModel', function () { return { Conn }; });

  class CmdEmitter extends Emitter {
    refreshQR() { return require('FakeWALink').refreshQR(); }
    /** Delete for everyone: sendRevokeMsgs(chat, {list, type: 'message'}, {clearMedia}). */
    sendRevokeMsgs(chat, which, options) { return require('FakeWAMsgActions').revokeMsgs(chat, which, options); }
    /** Delete for me: sendDeleteMsgs(chat, {list, type: 'message'}, clearMedia). */
    sendDeleteMsgs(chat, which, clearMedia) { return require('FakeWAMsgActions').deleteMsgs(chat, which, clearMedia); }
  }
  const Cmd = new CmdEmitter();
  __d('WAWebCmd', function () { return { Cmd }; });

  __d('WAWebUserPrefsMeUser', function () {
    const me = () => Conn.wid || null;
    return {
      getMaybeMePnUser: me,
      getMaybeMeUser: me,
      getMaybeMeLidUser: () => Conn.lid || null,
      getMeUser: () => { if (!me()) throw new Error('no user: not logged in'); return me(); },
    };
  });

  __d('FakeWAModels', function () {
    return { Wid, asWid, hexId, MsgKey, Msg, Chat, Contact, GroupMetadata, Socket, Conn, Cmd, collections, plain,
      MEDIA_TYPES };
  });
})();
