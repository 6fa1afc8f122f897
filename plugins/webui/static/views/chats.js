// The chat list (newest first, unread counts, last message), its search (views/search.js) and
// "new chat by phone number".

import { ackTick, chatIdFromPhone, chatTitle, h, replaceChildren, shortWhen } from '../dom.js';
import { kindOf, previewText } from '../messages.js';
import { ChatSearch } from './search.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.chats;

export class ChatList {
  /** ``onOpenMessage(chatId, messageId)``: a message the search found was picked. */
  constructor(live, { onOpenMessage } = {}) {
    this.live = live;
    this.store = live.store;
    this.rows = new Map(); // chat id -> <li>
    this.filter = null; // the ids of the chats the search found, or null for all
    this.search = new ChatSearch(live, {
      onFilter: (ids) => {
        this.filter = ids;
        this.render();
      },
      onOpenMessage: (chatId, messageId) => onOpenMessage?.(chatId, messageId),
    });
    this.list = h('ul', { class: 'chat-list', 'aria-label': TEXT.list });
    this.empty = h('p', { class: 'muted empty' });
    this.newChat = this.newChatForm();
    this.element = h(
      'section',
      { class: 'chats', 'aria-labelledby': 'chats-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'chats-title', text: TEXT.title })),
      this.search.element,
      this.newChat,
      this.empty,
      this.list,
      this.search.hitsElement,
    );
    this.onChats = () => this.render();
    this.store.addEventListener('chats', this.onChats);
    this.render();
  }

  destroy() {
    this.store.removeEventListener('chats', this.onChats);
    this.search.destroy();
  }

  newChatForm() {
    const input = h('input', {
      id: 'new-chat-phone',
      name: 'phone',
      type: 'tel',
      inputmode: 'tel',
      autocomplete: 'off',
      placeholder: TEXT.phoneExample,
      'aria-describedby': 'new-chat-error',
    });
    const error = h('p', { class: 'field-error', id: 'new-chat-error' });
    const form = h(
      'form',
      { class: 'new-chat', novalidate: true },
      h('label', { for: 'new-chat-phone', text: TEXT.newChat }),
      h('div', { class: 'inline' }, input, h('button', { type: 'submit', class: 'button', text: TEXT.open })),
      error,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chatId = chatIdFromPhone(input.value);
      if (!chatId) {
        error.textContent = TEXT.badPhone;
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
    const chats = this.store.chatList().filter((chat) => !this.filter || this.filter.has(chat.id));
    this.empty.hidden = chats.length > 0;
    this.empty.textContent = this.filter ? TEXT.noneFound : TEXT.empty;
    this.newChat.hidden = !!this.filter;
    this.element.dataset.filtered = String(!!this.filter);
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
    const signature = JSON.stringify([chat.name, chat.timestamp, unread, open, last && [last.id, last.ack, last.fromMe, previewText(last)]]);
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
    const mine = last && last.fromMe && kindOf(last) !== 'revoked';
    const preview = last
      ? [mine ? ackTick(last.ack) : null, h('span', { class: 'preview-text', text: (mine ? TEXT.you : '') + previewText(last) })]
      : [h('span', { class: 'preview-text muted', text: TEXT.noMessages })];
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
          unread ? h('span', { class: 'unread', 'aria-label': TEXT.unread(unread), text: String(unread) }) : null,
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
