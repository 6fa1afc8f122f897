// The chat list (newest first, unread counts, last message) and "new chat by phone number".

import { ackTick, chatIdFromPhone, chatTitle, h, replaceChildren, shortWhen } from '../dom.js';

export class ChatList {
  constructor(live) {
    this.live = live;
    this.store = live.store;
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

  render() {
    const focusedId = this.list.contains(document.activeElement) ? document.activeElement.dataset.chatId : null;
    const chats = this.store.chatList();
    this.empty.hidden = chats.length > 0;
    replaceChildren(this.list, chats.map((chat) => this.row(chat)));
    if (focusedId) this.list.querySelector(`[data-chat-id="${CSS.escape(focusedId)}"]`)?.focus();
  }

  row(chat) {
    const unread = this.store.unread(chat);
    const last = chat.lastMessage;
    const open = chat.id === this.store.openChatId;
    const title = chatTitle(chat);
    const preview = last
      ? [last.fromMe ? ackTick(last.ack) : null, h('span', { class: 'preview-text', text: (last.fromMe ? 'You: ' : '') + (last.body || `[${last.type}]`) })]
      : [h('span', { class: 'preview-text muted', text: 'No messages yet' })];
    return h(
      'li',
      {},
      h(
        'a',
        {
          class: `chat-row${open ? ' open' : ''}${unread ? ' has-unread' : ''}`,
          href: `#/chat/${encodeURIComponent(chat.id)}`,
          'data-chat-id': chat.id,
          'aria-current': open ? 'page' : null,
        },
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
      ),
    );
  }
}

export function initials(title) {
  const text = String(title || '').replace(/^\+/, '');
  if (/^\d/.test(text)) return text.slice(-2);
  const words = text.split(/\s+/).filter(Boolean);
  return (words.slice(0, 2).map((w) => [...w][0]).join('') || '?').toUpperCase();
}
