/*
 * The simulated phone (/__sim/phone): a person plays the phone of a WhatsApp account.
 *
 * It scans the QR codes that open web pages show (a wamulti session's among them), lists the
 * phone's chats, sends messages to the phone as one of its contacts, replies as the phone, and
 * reads chats (blue ticks). Everything goes through the control API under /__sim/ (app.py); the
 * page asks it again every second. Numbers, names and messages come from strangers: they are
 * put in with textContent only.
 */
(function () {
  'use strict';

  const POLL_MS = 1000;
  const STORAGE_KEY = 'fakewa-phone';
  const $ = (id) => document.getElementById(id);

  const state = {
    phone: null, // digits
    name: '',
    contact: null, // the open chat's counterpart, digits
    pages: [],
    phones: [],
    messages: [],
  };
  const drawn = {}; // what each part of the page was last drawn from, as JSON

  // -- helpers --------------------------------------------------------------------------------
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** "79991234567" from "+7 999 123-45-67", or null when it is not 5 to 15 digits. */
  function phoneNumber(text) {
    const value = String(text || '').trim().replace(/@c\.us$/, '').replace(/[\s+().-]/g, '');
    return /^\d{5,15}$/.test(value) ? value : null;
  }

  function nameOf(number) {
    const phone = state.phones.find((p) => p.phone === number);
    return phone && phone.pushname ? phone.pushname : '';
  }

  function title(number) {
    const name = nameOf(number);
    return name ? `${name} (+${number})` : `+${number}`;
  }

  function clock(t) {
    return new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  const TICKS = {
    '-1': ['!', 'Not sent'], 0: ['…', 'Pending'], 1: ['✓', 'Sent'], 2: ['✓✓', 'Delivered'], 3: ['✓✓', 'Read'],
  };

  function tick(ack) {
    const [mark, label] = TICKS[ack] || TICKS[0];
    return h('span', { class: `tick ack-${ack}`, role: 'img', 'aria-label': label, title: label, text: mark });
  }

  let noticeTimer = null;
  function say(text) {
    clearTimeout(noticeTimer);
    $('notice').textContent = text || '';
    $('error').textContent = '';
    if (text) noticeTimer = setTimeout(() => { $('notice').textContent = ''; }, 8000);
  }

  function fail(text) {
    $('error').textContent = text;
    $('notice').textContent = '';
  }

  /** A control API call: the JSON answer, or an Error with the simulator's message and status. */
  async function api(method, path, body) {
    const response = await fetch(`/__sim/${path}`, {
      method,
      cache: 'no-store',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON: the status says enough */ }
    if (!response.ok) {
      const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // -- reading the network ----------------------------------------------------------------------
  let sequence = 0;
  let applied = 0;
  let timer = null;

  /** The phone's messages; none while the network does not know it (no message, no link yet). */
  async function messagesOf(phone, phones) {
    if (!phone || !phones.some((p) => p.phone === phone)) return [];
    try {
      return (await api('GET', `phones/${phone}/messages`)).messages;
    } catch (e) {
      if (e.status === 404) return []; // forgotten meanwhile (a reset)
      throw e;
    }
  }

  /** Ask the simulator again now, then every POLL_MS; an older answer never overwrites a newer one. */
  async function refresh() {
    clearTimeout(timer);
    const mine = ++sequence;
    try {
      const [pages, phones] = await Promise.all([api('GET', 'pages'), api('GET', 'phones')]);
      const messages = await messagesOf(state.phone, phones.phones);
      if (mine > applied) {
        applied = mine;
        state.pages = pages.pages;
        state.phones = phones.phones;
        state.messages = messages;
        document.body.classList.remove('offline');
        render();
      }
    } catch (e) {
      document.body.classList.add('offline');
      $('phone-status').textContent = `The simulator does not answer (${e.message}); trying again.`;
      delete drawn.phone; // drawn again once it answers
    }
    if (mine === sequence) timer = setTimeout(refresh, POLL_MS);
  }

  /** Run an action; its message (or the simulator's refusal) is shown, then the page refreshed. */
  async function act(action) {
    try {
      say(await action());
    } catch (e) {
      fail(e.message);
    }
    refresh();
  }

  // -- drawing ----------------------------------------------------------------------------------
  function changed(part, value) {
    const json = JSON.stringify(value);
    if (drawn[part] === json) return false;
    drawn[part] = json;
    return true;
  }

  function chats() {
    const byContact = new Map();
    for (const msg of state.messages) {
      if (msg.counterpart === null) continue; // a group's message: the phone page shows 1:1 chats
      const contact = msg.counterpart || msg.chatId.split('@')[0];
      if (!byContact.has(contact)) byContact.set(contact, []);
      byContact.get(contact).push(msg);
    }
    return Array.from(byContact, ([contact, msgs]) => ({
      contact,
      msgs,
      last: msgs[msgs.length - 1],
      unread: msgs.filter((m) => !m.id.fromMe && m.ack < 3).length,
    })).sort((a, b) => b.last.t - a.last.t);
  }

  function renderPhone() {
    const me = state.phones.find((p) => p.phone === state.phone);
    const value = { phone: state.phone, name: state.name, me, known: state.phones.map((p) => [p.phone, p.pushname]) };
    if (!changed('phone', value)) return;
    const list = $('known-phones');
    list.replaceChildren(...state.phones.map((p) => h('option', { value: p.phone, label: p.pushname || `+${p.phone}` })));
    let status = `Playing +${state.phone}${state.name ? ` (${state.name})` : ''}: `;
    if (!me || !me.devices) status += 'no web page is linked to it yet.';
    else status += `${me.devices} linked web page${me.devices > 1 ? 's' : ''}, ${me.online} online.`;
    $('phone-status').textContent = status;
  }

  function renderPages() {
    const showing = state.pages.filter((p) => p.qr);
    const idle = state.pages.filter((p) => p.state === 'UNPAIRED_IDLE').length;
    if (!changed('pages', [showing, idle])) return;
    const rows = showing.map((page, i) => {
      const ref = page.qr.split(',')[0];
      return h('li', { class: 'row', dataset: { qr: page.qr } },
        h('span', { class: 'grow' },
          h('strong', { text: `QR code ${i + 1}` }),
          h('span', { class: 'muted code', text: ` ${ref.slice(0, 14)}…` })),
        h('button', { type: 'button', class: 'scan', onclick: () => act(() => scan(page.qr)) }, 'Scan with this phone'));
    });
    if (idle) {
      rows.push(h('li', { class: 'row muted', text: `${idle} page${idle > 1 ? 's' : ''} stopped showing codes because nobody scanned them; a new code comes when the page asks for one.` }));
    }
    $('qr-list').replaceChildren(...rows);
    $('qr-empty').hidden = rows.length > 0;
  }

  /** A message as one line of text: its body, or what it carries (a file, a place), and what
   * happened to it since (edited, deleted, reactions). */
  function describe(m) {
    if (m.revoked) return 'This message was deleted';
    let text = m.body || '';
    if (m.media) text = `[${m.type}${m.media.filename ? `: ${m.media.filename}` : ''}]${m.caption ? ` ${m.caption}` : ''}`;
    if (m.location) text = `[location] ${m.location.name || ''} ${m.location.latitude}, ${m.location.longitude}`.replace('  ', ' ');
    if (m.edited) text += ' (edited)';
    if (m.reactions && m.reactions.length) text += ` ${m.reactions.map((r) => r.emoji).join('')}`;
    return text;
  }

  function renderChats(list) {
    const value = [state.contact, list.map((c) => [c.contact, nameOf(c.contact), c.last.id._serialized, c.last.ack, c.unread, describe(c.last)])];
    if (!changed('chats', value)) return;
    $('chat-list').replaceChildren(...list.map((chat) => {
      const preview = `${chat.last.id.fromMe ? 'You: ' : ''}${describe(chat.last)}`;
      return h('li', { class: `row chat${chat.contact === state.contact ? ' selected' : ''}`, dataset: { chat: chat.contact } },
        h('button', { type: 'button', class: 'link grow', onclick: () => openChat(chat.contact) },
          h('strong', { text: title(chat.contact) }),
          h('span', { class: 'preview muted', text: preview })),
        chat.unread ? h('span', { class: 'badge', title: 'Not read on this phone', text: chat.unread }) : null);
    }));
    $('chats-empty').hidden = list.length > 0;
  }

  function renderConversation(list) {
    const chat = list.find((c) => c.contact === state.contact);
    const msgs = chat ? chat.msgs : [];
    const value = [state.contact, nameOf(state.contact), msgs.map((m) => [m.id._serialized, m.ack, describe(m)])];
    if (!changed('conversation', value)) return;
    $('conversation-body').hidden = !state.contact;
    $('conversation-empty').hidden = !!state.contact;
    if (!state.contact) {
      $('conversation-title').textContent = '4. A chat';
      return;
    }
    $('conversation-title').textContent = `Chat with ${title(state.contact)}`;
    $('as-contact-label').textContent = `As ${nameOf(state.contact) || `+${state.contact}`}`;
    $('messages').replaceChildren(...msgs.map((m) => h('li',
      { class: `msg ${m.id.fromMe ? 'out' : 'in'}`, dataset: { id: m.id._serialized, ack: m.ack } },
      h('span', { class: 'body', text: describe(m) }),
      h('span', { class: 'meta' }, clock(m.t), m.id.fromMe ? tick(m.ack) : null))));
    const last = $('messages').lastElementChild;
    if (last) last.scrollIntoView({ block: 'nearest' });
  }

  function render() {
    renderPhone();
    renderPages();
    const list = chats();
    renderChats(list);
    renderConversation(list);
  }

  // -- actions ----------------------------------------------------------------------------------
  function usePhone() {
    const number = phoneNumber($('phone-number').value);
    if (!number) throw new Error('The phone number must be 5 to 15 digits, like 79990000001.');
    const name = $('phone-name').value.trim();
    if (number !== state.phone) state.contact = null;
    state.phone = number;
    state.name = name;
    try { localStorage.setItem(STORAGE_KEY, JSON.stringify({ phone: number, name })); } catch (e) { /* private mode */ }
    return number;
  }

  async function scan(qr) {
    usePhone();
    try {
      await api('POST', 'scan', { qr, phone: state.phone, pushname: state.name || null });
    } catch (e) {
      if (e.status === 404) throw new Error('That QR code changed before the scan (codes rotate): scan the new one.');
      throw e;
    }
    return `Scanned with +${state.phone}: the page is linking to this phone.`;
  }

  function openChat(contact) {
    state.contact = contact;
    say('');
    render();
    $('as-contact-text').focus();
  }

  async function fromContact(contact, body, pushname) {
    if (contact === state.phone) throw new Error("A contact needs another number than this phone's.");
    await api('POST', `phones/${state.phone}/incoming`, { from: contact, body, ...(pushname ? { pushname } : {}) });
    state.contact = contact;
    return `+${contact} sent a message to this phone.`;
  }

  async function fromPhone(body) {
    await api('POST', `phones/${state.contact}/incoming`, { from: state.phone, body, ...(state.name ? { pushname: state.name } : {}) });
    return `This phone replied to +${state.contact}.`;
  }

  async function read(reader, counterpart) {
    const count = (await api('POST', `phones/${reader}/read`, { chatId: `${counterpart}@c.us` })).read;
    const who = reader === state.phone ? 'This phone' : `+${reader}`;
    return `${who} read the chat: ${count} message${count === 1 ? '' : 's'} now read (blue ticks).`;
  }

  function onSubmit(id, handler) {
    $(id).addEventListener('submit', (event) => {
      event.preventDefault();
      act(handler);
    });
  }

  onSubmit('phone-form', () => `Now playing +${usePhone()}.`);
  $('phone-number').addEventListener('change', () => act(() => `Now playing +${usePhone()}.`));
  $('phone-name').addEventListener('change', () => act(() => { usePhone(); return 'Display name kept for the next scan and replies.'; }));

  onSubmit('new-chat-form', async () => {
    usePhone();
    const contact = phoneNumber($('contact-number').value);
    if (!contact) throw new Error("The contact's number must be 5 to 15 digits, like 79990000002.");
    const text = $('contact-text').value;
    const message = await fromContact(contact, text, $('contact-name').value.trim());
    $('contact-text').value = '';
    return message;
  });

  onSubmit('as-contact-form', async () => {
    const message = await fromContact(state.contact, $('as-contact-text').value);
    $('as-contact-text').value = '';
    return message;
  });

  onSubmit('as-phone-form', async () => {
    const message = await fromPhone($('as-phone-text').value);
    $('as-phone-text').value = '';
    return message;
  });

  $('contact-reads').addEventListener('click', () => act(() => read(state.contact, state.phone)));
  $('phone-reads').addEventListener('click', () => act(() => read(state.phone, state.contact)));

  // -- start ------------------------------------------------------------------------------------
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
    if (saved && phoneNumber(saved.phone)) {
      $('phone-number').value = saved.phone;
      $('phone-name').value = saved.name || '';
    }
  } catch (e) { /* nothing saved */ }
  try { usePhone(); } catch (e) { fail(e.message); }
  refresh();
})();
