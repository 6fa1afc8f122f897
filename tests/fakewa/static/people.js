/*
 * People and groups under the site's module names:
 *   WAWebApiContact                    getPhoneNumber(lidWid), getCurrentLid(pnWid), getAllLidContacts()
 *   WAWebQueryExistsJob                queryWidExists(wid) -> {wid, biz} | null (learns the LID mapping)
 *   WAWebContactProfilePicThumbBridge  requestProfilePicFromServer(chat or wid) -> {eurl, tag}
 *                                      (a ServerStatusCodeError with status 404 when there is none)
 *   WAWebGroupCreateJob                createGroup({title, addressingModeOverride, ...}, [{phoneNumber: wid}])
 *                                      -> {wid, subject, participants: [{wid, error?}]}
 *   WAWebGroupQueryJob                 queryAndUpdateGroupMetadataById({id})
 *   WAWebModifyParticipantsGroupAction addParticipants(chat, wids), removeParticipants(chat, wids)
 *                                      -> [{wid, code}] (WhatsApp's codes: 200, 403, 404, 409)
 *   WAWebReachoutTimelockModel         ReachoutTimelock {isActive, timeEnforcementEnds, enforcementType}
 * and FakeWAPeople, what link.js applies the server's contacts, groups and timelock with.
 * The query, picture and group modules are in the chunk 2026-08 loads only once logged in.
 */
(function () {
  'use strict';
  const { Model } = require('FakeWARuntime');
  const { asWid, Conn, Contact, GroupMetadata, Chat: ChatModel, collections } = require('FakeWAModels');
  const link = () => require('FakeWALink');

  // -- the LID <-> phone number mapping this page learned --------------------------------------
  const pnOfLid = new Map(); // '<lid>@lid' -> '<pn>@c.us'
  const lidOfPn = new Map();

  function learn(lid, pn) {
    if (!lid || !pn) return;
    const l = String(lid._serialized || lid);
    const p = String(pn._serialized || pn);
    if (pnOfLid.get(l) === p) return;
    pnOfLid.set(l, p);
    lidOfPn.set(p, l);
  }

  __d('WAWebApiContact', function () {
    return {
      getPhoneNumber(wid) {
        const pn = pnOfLid.get(String(asWid(wid)));
        return pn ? asWid(pn) : null;
      },
      getCurrentLid(wid) {
        const lid = lidOfPn.get(String(asWid(wid)));
        return lid ? asWid(lid) : null;
      },
      getAllLidContacts() { return Array.from(pnOfLid.keys(), asWid); },
    };
  });

  /** A contact as the server describes it: keyed as its chat is addressed; a contact that
   * changes addressing replaces its other form. */
  function upsertContact(info) {
    if (!info || !info.id) return null;
    const id = asWid(info.id);
    if (id.isLid() && info.phoneNumber) learn(id, info.phoneNumber);
    if (!id.isLid() && info.lid) learn(info.lid, id);
    const other = id.isLid() ? info.phoneNumber : info.lid;
    const stale = other ? collections.Contact.get(other) : null;
    if (stale && !stale.isMe) collections.Contact.remove(stale);
    const attrs = {
      pushname: info.pushname || undefined, name: info.name || undefined, isMyContact: !!info.isMyContact,
      isBusiness: !!info.isBusiness, phoneNumber: id.isLid() && info.phoneNumber ? asWid(info.phoneNumber) : undefined,
    };
    const existing = collections.Contact.get(id);
    if (existing) {
      existing.set(attrs);
      return existing;
    }
    return collections.Contact.add(new Contact(Object.assign({ id }, attrs)));
  }

  /** A group as the server describes it, and its chat row. */
  function upsertGroup(info, row) {
    for (const pair of info.lids || []) learn(pair.lid, pair.pn);
    let meta = collections.GroupMetadata.get(info.id);
    if (meta) meta.update(info);
    else meta = collections.GroupMetadata.add(new GroupMetadata(info));
    if (row && !collections.Chat.get(info.id)) {
      collections.Chat.add(new ChatModel({ id: row.id, name: row.name, formattedTitle: row.formattedTitle,
        unreadCount: row.unreadCount, t: row.t }));
    }
    return meta;
  }

  // -- lookups and groups: requests the server answers ---------------------------------------
  function widOf(value) {
    if (value && value.phoneNumber) return asWid(value.phoneNumber);
    if (value && value.id && !(typeof value.id === 'string' && value.server)) return asWid(value.id);
    return asWid(value);
  }

  async function queryWidExists(wid) {
    const id = asWid(wid);
    const found = await link().request({ type: 'query_exists', id: id._serialized });
    if (!found) return null;
    upsertContact(found.contact);
    return { wid: id, biz: !!found.biz };
  }
  __dLazy('WAWebQueryExistsJob', function () { return { queryWidExists }; });

  class ServerStatusCodeError extends Error {
    constructor(status, message) {
      super(message);
      this.name = 'ServerStatusCodeError';
      this.status = status;
    }
  }

  __dLazy('WAWebContactProfilePicThumbBridge', function () {
    return {
      async requestProfilePicFromServer(chatOrWid) {
        const id = widOf(chatOrWid);
        try {
          const { path } = await link().request({ type: 'profile_pic', id: id._serialized });
          return { eurl: location.origin + path, tag: path.split('?')[0].split('/').pop(), id };
        } catch (e) {
          if (e.status) throw new ServerStatusCodeError(e.status, e.message);
          throw e;
        }
      },
    };
  });

  __dLazy('WAWebGroupCreateJob', function () {
    return {
      async createGroup(options, participants) {
        const o = options || {};
        const result = await link().request({
          type: 'group_create', title: o.title, lidMode: o.addressingModeOverride === 'lid',
          participants: (participants || []).map((p) => widOf(p)._serialized),
        });
        const meta = await require('WAWebGroupQueryJob').queryAndUpdateGroupMetadataById({ id: result.id });
        return {
          wid: asWid(result.id), subject: result.subject, groupMetadata: meta,
          participants: result.participants.map((p) => Object.assign({ wid: asWid(p.wid) }, p.error ? { error: p.error } : {})),
        };
      },
    };
  });

  __dLazy('WAWebGroupQueryJob', function () {
    return {
      async queryAndUpdateGroupMetadataById({ id }) {
        const info = await link().request({ type: 'group_query', id: String(id._serialized || id) });
        return upsertGroup(info, { id: info.id, name: info.subject, formattedTitle: info.subject, unreadCount: 0, t: info.creation });
      },
    };
  });

  async function modify(action, chat, participants) {
    const id = String(chat && chat.id ? chat.id : chat);
    const results = await link().request({
      type: 'group_participants', id, action, participants: (participants || []).map((p) => widOf(p)._serialized),
    });
    await require('WAWebGroupQueryJob').queryAndUpdateGroupMetadataById({ id });
    return results.map((r) => ({ wid: asWid(r.wid), code: r.code }));
  }
  __dLazy('WAWebModifyParticipantsGroupAction', function () {
    return {
      addParticipants: (chat, participants) => modify('add', chat, participants),
      removeParticipants: (chat, participants) => modify('remove', chat, participants),
    };
  });

  // -- the reach-out timelock --------------------------------------------------------------------
  class ReachoutTimelockModel extends Model {}
  ReachoutTimelockModel.defineAttributes(['isActive', 'timeEnforcementEnds', 'enforcementType']);
  const ReachoutTimelock = new ReachoutTimelockModel({ isActive: false, timeEnforcementEnds: 0, enforcementType: null });
  __d('WAWebReachoutTimelockModel', function () { return { ReachoutTimelock }; });

  function setTimelock(state) {
    const s = state || {};
    ReachoutTimelock.set({
      isActive: !!s.active, timeEnforcementEnds: s.active && s.until ? s.until : 0,
      enforcementType: s.active ? 'REACHOUT_TIMELOCK' : null,
    });
  }

  __d('FakeWAPeople', function () {
    return { upsertContact, upsertGroup, setTimelock, learn, me: () => Conn.wid };
  });
})();
