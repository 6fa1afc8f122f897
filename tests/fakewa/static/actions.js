/*
 * The site's action modules (find a chat, send a message, mark a chat seen) and the
 * registration modules a driver reads the QR payload's keys from. From 2026-08 sendSeen takes
 * only {chat, threadId}.
 */
(function () {
  'use strict';
  const { MsgKey, Msg, Chat: ChatModel, asWid, hexId, Conn, collections } = require('FakeWAModels');
  const config = require('FakeWAConfig');
  const link = () => require('FakeWALink');

  __d('WAWebFindChatAction', function () {
    return {
      findOrCreateLatestChat(wid) {
        let id;
        try { id = asWid(wid); } catch (e) { return Promise.reject(e); }
        let chat = collections.Chat.get(id);
        if (chat) return Promise.resolve({ chat, created: false });
        if (id.isGroup()) return Promise.reject(new Error('findOrCreateLatestChat: no such group ' + id));
        const contact = collections.Contact.get(id);
        chat = collections.Chat.add(new ChatModel({ id, name: contact ? contact.pushname : undefined }));
        return Promise.resolve({ chat, created: true });
      },
    };
  });

  __d('WAWebSendMsgChatAction', function () {
    return {
      /**
       * Adds the message to Msg and chat.msgs (ack 0, isNewMsg) and sends it. Returns
       * [Promise<Msg>, Promise<result>]; the result settles when the server takes it (ack 1).
       */
      addAndSendMsgToChat(chat, attrs) {
        const me = Conn.wid;
        if (!me || !chat || !chat.id) {
          const failure = Promise.reject(new Error(me ? 'addAndSendMsgToChat: no chat' : 'not logged in'));
          failure.catch(() => {});
          return [failure, failure];
        }
        attrs = attrs || {};
        let key = attrs.id;
        if (!(key instanceof MsgKey)) {
          key = key ? new MsgKey(key) : new MsgKey({ from: me, to: chat.id, id: '3EB0' + hexId(8), selfDir: 'out' });
        }
        const msg = new Msg(Object.assign({}, attrs, {
          id: key,
          from: attrs.from || me,
          to: attrs.to || chat.id,
          t: attrs.t || Math.floor(Date.now() / 1000),
          type: attrs.type || 'chat',
          ack: 0,
          isNewMsg: true,
          self: 'out',
          local: true,
        }));
        collections.Msg.add(msg);
        if (chat.msgs) chat.msgs.add(msg);
        if (typeof chat.set === 'function') chat.set('t', msg.t);
        return [Promise.resolve(msg), link().send(msg)];
      },
    };
  });

  __d('WAWebUpdateUnreadChatAction', function () {
    return {
      /** sendSeen({chat, threadId}) as the current site takes it; before 2026-08 also sendSeen(chat). */
      sendSeen(arg) {
        if (config.generation >= '2026-08' && !(arg && arg.chat)) {
          return Promise.reject(new TypeError("sendSeen: expected {chat, threadId}"));
        }
        const chat = arg && arg.chat ? arg.chat : arg;
        if (!chat || !chat.id) return Promise.reject(new Error('sendSeen: no chat'));
        if (typeof chat.set === 'function') chat.set('unreadCount', 0);
        link().seen(chat.id);
        return Promise.resolve(true);
      },
    };
  });

  __d('WAWebGetEphemeralFieldsMsgActionsUtils', function () {
    return { getEphemeralFields: () => ({}) };
  });

  __d('WAWebOfflineHandler', function () {
    return { OfflineMessageHandler: { getOfflineDeliveryProgress: () => link().offlineProgress() } };
  });

  // The QR payload is `${Conn.ref},${static},${identity},${adv},${DEVICE_PLATFORM}`.
  function b64(bytes) {
    let s = '';
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s);
  }
  __d('WABase64', function () {
    return {
      encodeB64: b64,
      decodeB64: (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer,
    };
  });
  __d('WAWebUserPrefsInfoStore', function () {
    return { waNoiseInfo: { get: () => Promise.resolve({ staticKeyPair: { pubKey: link().keys().static } }) } };
  });
  __d('WAWebSignalStoreApi', function () {
    return {
      waSignalStore: {
        getRegistrationInfo: () => Promise.resolve({ identityKeyPair: { pubKey: link().keys().identity } }),
      },
    };
  });
  __d('WAWebUserPrefsMultiDevice', function () {
    return { getADVSecretKey: () => Promise.resolve(b64(link().keys().adv)) };
  });
  __d('WAWebCompanionRegClientUtils', function () {
    return { DEVICE_PLATFORM: 'WEB' };
  });
})();
