/*
 * What one does to a message once it is sent, under the site's module names:
 *   WAWebMsgReply                canReplyMsg(msg)
 *   WAWebMsgActionCapability     canEditMsg(msg), canSenderRevokeMsg(msg), canAdminRevokeMsg(msg)
 *   WAWebSendReactionMsgAction   sendReactionToMsg(msg, emoji)   ("" removes one's reaction)
 *   WAWebAddonReactionTableMode  reactionTableMode.bulkUpsert(rows): the reaction table, where
 *                                every reaction lands, one's own and others' (rows {msgKey,
 *                                parentMsgKey, senderUserJid, reactionText, timestamp, ...})
 *   WAWebSendMessageEditAction   sendMessageEdit(msg, text, options)
 * and FakeWAMsgActions, behind Cmd.sendRevokeMsgs / Cmd.sendDeleteMsgs (models.js) and the
 * server's events (link.js). Each action is confirmed by the server before the page applies it.
 * Until 2026-08 WAWebSendReactionMsgAction is also callable itself; from then on it is only an
 * object with sendReactionToMsg.
 */
(function () {
  'use strict';
  const { MsgKey, Conn, collections } = require('FakeWAModels');
  const config = require('FakeWAConfig');
  const link = () => require('FakeWALink');
  const nowSeconds = () => Date.now() / 1000;

  const NOT_REPLIABLE = ['revoked', 'ciphertext', 'e2e_notification', 'notification_template', 'gp2', 'protocol'];
  __d('WAWebMsgReply', function () {
    return { canReplyMsg: (msg) => !!msg && !!msg.id && NOT_REPLIABLE.indexOf(msg.type) < 0 };
  });

  const EDITABLE = ['chat', 'image', 'video', 'document'];
  const capability = {
    canEditMsg(msg) {
      return !!msg && !!msg.id && msg.id.fromMe && EDITABLE.indexOf(msg.type) >= 0 && (msg.ack || 0) >= 0 &&
        nowSeconds() - (msg.t || 0) <= link().config().editWindow;
    },
    canSenderRevokeMsg(msg) {
      return !!msg && !!msg.id && msg.id.fromMe && msg.type !== 'revoked' &&
        nowSeconds() - (msg.t || 0) <= link().config().revokeWindow;
    },
    canAdminRevokeMsg: () => false, // no groups here
  };
  __d('WAWebMsgActionCapability', function () { return capability; });

  // -- reactions ----------------------------------------------------------------------------------
  const reactionRows = new Map(); // parentMsgKey|sender -> row: one reaction per sender and message
  const reactionTableMode = {
    bulkUpsert(rows) {
      for (const row of rows || []) {
        const key = row.parentMsgKey + '|' + row.senderUserJid;
        if (row.reactionText) reactionRows.set(key, Object.assign({}, row));
        else reactionRows.delete(key);
      }
      return Promise.resolve(rows);
    },
    /** The rows of one message (what the page draws under it). */
    byParent(parentMsgKey) {
      return Array.from(reactionRows.values()).filter((r) => r.parentMsgKey === String(parentMsgKey));
    },
  };
  __d('WAWebAddonReactionTableMode', function () { return { reactionTableMode }; });
  const reactionTable = () => require('WAWebAddonReactionTableMode').reactionTableMode;

  /** How this account writes itself in a message's chat: its LID where the chat is by LID. */
  function meIn(msg) {
    const chat = collections.Chat.get(msg.id.remote);
    const meta = chat && chat.groupMetadata;
    return msg.id.remote.isLid() || (meta && meta.isLidAddressingMode) ? (Conn.lid || Conn.wid) : Conn.wid;
  }

  async function sendReactionToMsg(msg, reactionText) {
    if (!msg || !msg.id) throw new Error('sendReactionToMsg: no message');
    const text = reactionText ? String(reactionText) : '';
    const reactionId = await MsgKey.newId();
    await link().request({ type: 'react', id: String(msg.id), emoji: text, reactionId });
    const me = meIn(msg);
    const participant = msg.id.remote.isGroup() ? me : undefined;
    const row = {
      msgKey: String(new MsgKey({ fromMe: true, remote: msg.id.remote, id: reactionId, participant })),
      parentMsgKey: String(msg.id), senderUserJid: me._serialized, reactionText: text,
      timestamp: Date.now(), orphan: 0, read: true,
    };
    await reactionTable().bulkUpsert([row]);
    return { messageSendResult: 'OK' };
  }
  __d('WAWebSendReactionMsgAction', function () {
    if (config.generation >= '2026-08') return { sendReactionToMsg };
    const callable = function (msg, reactionText) { return sendReactionToMsg(msg, reactionText); };
    callable.sendReactionToMsg = sendReactionToMsg;
    return callable;
  });

  // -- edits ----------------------------------------------------------------------------------------
  __d('WAWebSendMessageEditAction', function () {
    return {
      async sendMessageEdit(msg, text, options) {
        if (!capability.canEditMsg(msg)) throw new Error('sendMessageEdit: this message cannot be edited');
        const editId = await MsgKey.newId();
        await link().request({ type: 'edit', id: String(msg.id), body: String(text), editId });
        applyEdit(msg, {
          type: msg.type, body: String(text), caption: String(text),
          editKey: String(new MsgKey({ fromMe: true, remote: msg.id.remote, id: editId, participant: msg.id.participant })),
          editT: Date.now(),
        });
        return { messageSendResult: 'OK' };
      },
    };
  });

  /** A text's body or a media message's caption changes; the edit's key comes first. */
  function applyEdit(msg, edit) {
    const changes = { latestEditMsgKey: edit.editKey, latestEditSenderTimestampMs: edit.editT, editMsgType: edit.type };
    if (msg.type === 'chat') changes.body = edit.body;
    else changes.caption = edit.caption || undefined;
    msg.set(changes);
  }

  // -- deleting -------------------------------------------------------------------------------------
  const MEDIA_ATTRS = ['caption', 'mimetype', 'filename', 'size', 'duration', 'width', 'height', 'filehash',
    'encFilehash', 'directPath', 'mediaKey', 'mediaKeyTimestamp', 'deprecatedMms3Url', 'clientUrl', 'mediaBlob',
    'lat', 'lng', 'loc', 'quotedMsg', 'quotedStanzaID', 'quotedParticipant'];

  /** Deleted for everyone: the model stays, as type 'revoked' with nothing in it. */
  function applyRevoke(msg) {
    const changes = { type: 'revoked', body: '' };
    for (const name of MEDIA_ATTRS) changes[name] = undefined;
    msg._mediaData = null;
    msg.set(changes);
  }

  /** Deleted for me: gone from the chat and the page. */
  function applyDelete(msg) {
    const chat = collections.Chat.get(msg.id.remote);
    if (chat) chat.msgs.remove(msg);
    collections.Msg.remove(msg);
  }

  function listOf(which) {
    return Array.isArray(which) ? which : ((which && which.list) || []);
  }

  async function revokeMsgs(chat, which, options) {
    for (const msg of listOf(which)) {
      if (!capability.canSenderRevokeMsg(msg)) throw new Error('sendRevokeMsgs: this message cannot be revoked');
      await link().request({ type: 'revoke', id: String(msg.id) });
      applyRevoke(msg);
    }
    return { messageSendResult: 'OK' };
  }

  async function deleteMsgs(chat, which, clearMedia) {
    for (const msg of listOf(which)) {
      await link().request({ type: 'delete', id: String(msg.id) });
      applyDelete(msg);
    }
    return { messageSendResult: 'OK' };
  }

  __d('FakeWAMsgActions', function () {
    return { revokeMsgs, deleteMsgs, applyEdit, applyRevoke, applyDelete, reactionTable };
  });
})();
