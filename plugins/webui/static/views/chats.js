// The chat list (newest first, unread counts, last message) and "new chat by phone number".

import { ackTick, chatIdFromPhone, chatTitle, h, replaceChildren, shortWhen } from '../dom.js';

export class ChatList {
  constructor(live) {
    this.live = live;
    this.store = live.store;
    this.rows = new Map(); // chat id -> <li>
    this.list = h('ul', { class: 'chat-list', 'aria-label': 'Chats, newest first' });
    this.empty = h('p', { class: 'muted empty', text: 'No chats yet. Link WhatsApp, or start a chat by phone number.' });
    this.element = h(
      'section',
      { class: 'chats', 'aria-labelledby': 'chats-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'chats-title', text: 'Chats' })),
      this.newChatForm(),
      this.empty,
      this.list,
    );
    this.onChats = () => this.render();
    this.store.addEventListener('chats', this.onChats);
    this.render();
  }

  destroy() {
    this.store.removeEventListener('chats', this.onChats);
  }

  newChatForm() {
    const input = h('input', {
      id: 'new-chat-phone',
      name: 'phone',
      type: 'tel',
      inputmode: 'tel',
      autocomplete: 'off',
      placeholder: '+7 999 123 45 67',
      'aria-describedby': 'new-chat-error',
    });
    const error = h('p', { class: 'field-error', id: 'new-chat-error' });
    const form = h(
      'form',
      { class: 'new-chat', novalidate: true },
      h('label', { for: 'new-chat-phone', text: 'New chat by phone number' }),
      h('div', { class: 'inline' }, input, h('button', { type: 'submit', class: 'button', text: 'Open' })),
      error,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chatId = chatIdFromPhone(input.value);
      if (!chatId) {
        error.textContent = 'Type a phone number with its country code: 6 to 15 digits, an optional +.';
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      input.value = '';
      location.hash = `#/chat/${encodeURIComponent(chatId)}`;
    });
    return form;
  }

  /** Keyed: a row stays the same element while its chat lives, so focus and clicks stay put. */
  render() {
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    const chats = this.store.chatList();
    this.empty.hidden = chats.length > 0;
    const wanted = chats.map((chat) => this.rowNode(chat));
    const keep = new Set(wanted);
    for (const [id, node] of this.rows) {
      if (!keep.has(node)) {
        node.remove();
        this.rows.delete(id);
      }
    }
    let cursor = this.list.firstChild;
    for (const node of wanted) {
      if (node === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(node, cursor);
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus();
  }

  rowNode(chat) {
    const unread = this.store.unread(chat);
    const last = chat.lastMessage;
    const open = chat.id === this.store.openChatId;
    const signature = JSON.stringify([chat.name, chat.timestamp, unread, open, last && [last.id, last.ack, last.body, last.fromMe]]);
    let li = this.rows.get(chat.id);
    if (li && li.dataset.signature === signature) return li;
    if (!li) {
      li = h('li', {}, h('a', { class: 'chat-row', href: `#/chat/${encodeURIComponent(chat.id)}`, 'data-chat-id': chat.id }));
      this.rows.set(chat.id, li);
    }
    li.dataset.signature = signature;
    const link = li.firstChild;
    link.className = `chat-row${open ? ' open' : ''}${unread ? ' has-unread' : ''}`;
    if (open) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    const title = chatTitle(chat);
    const preview = last
      ? [last.fromMe ? ackTick(last.ack) : null, h('span', { class: 'preview-text', text: (last.fromMe ? 'You: ' : '') + (last.body || `[${last.type}]`) })]
      : [h('span', { class: 'preview-text muted', text: 'No messages yet' })];
    replaceChildren(
      link,
      h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(title) }),
      h(
        'span',
        { class: 'chat-main' },
        h('span', { class: 'chat-top' }, h('span', { class: 'chat-name', text: title }), h('time', { class: 'chat-time', datetime: chat.timestamp, text: shortWhen(chat.timestamp) })),
        h(
          'span',
          { class: 'chat-bottom' },
          h('span', { class: 'chat-preview' }, preview),
          unread ? h('span', { class: 'unread', 'aria-label': `${unread} unread`, text: String(unread) }) : null,
        ),
      ),
    );
    return li;
  }
}

export function initials(title) {
  const text = String(title || '').replace(/^\+/, '');
  if (/^\d/.test(text)) return text.slice(-2);
  const words = text.split(/\s+/).filter(Boolean);
  return (words.slice(0, 2).map((w) => [...w][0]).join('') || '?').toUpperCase();
}
