// One conversation: bubbles with times and ack ticks that update live, older messages on
// request, and the composer (Enter sends, Shift+Enter starts a new line).

import { ackTick, chatTitle, clockTime, dayLabel, h, icon, phoneOf, toMillis } from '../dom.js';

export class Conversation {
  constructor(live, chatId) {
    this.live = live;
    this.store = live.store;
    this.chatId = chatId;
    this.nodes = new Map(); // message id or day key -> element
    this.build();
    this.onMessages = (event) => {
      if (event.detail.chatId === this.chatId) this.renderMessages();
    };
    this.onChats = () => this.renderHead();
    this.onSession = () => this.renderComposerState();
    this.store.addEventListener('messages', this.onMessages);
    this.store.addEventListener('chats', this.onChats);
    this.live.session.addEventListener('change', this.onSession);
    this.renderHead();
    this.renderMessages();
    this.renderComposerState();
    if (!this.store.loadedChats.has(chatId)) this.load();
  }

  destroy() {
    this.store.removeEventListener('messages', this.onMessages);
    this.store.removeEventListener('chats', this.onChats);
    this.live.session.removeEventListener('change', this.onSession);
  }

  build() {
    this.title = h('h2', { id: 'conversation-title', class: 'conv-title', tabindex: '-1' });
    this.subtitle = h('p', { class: 'conv-sub' });
    this.status = h('p', { class: 'conv-status muted', role: 'status' });
    this.older = h('button', { type: 'button', class: 'button small load-older', text: 'Load older messages', hidden: true, onclick: () => this.load(true) });
    this.list = h('ol', { class: 'messages-list' });
    this.scroller = h(
      'div',
      { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'conversation-title', tabindex: '0' },
      this.older,
      this.status,
      this.list,
    );
    this.input = h('textarea', {
      id: 'composer-input',
      name: 'message',
      rows: '1',
      placeholder: 'Type a message',
      'aria-describedby': 'composer-hint',
      autocomplete: 'off',
    });
    this.sendButton = h('button', { type: 'submit', class: 'button primary send', text: 'Send' });
    this.hint = h('p', { id: 'composer-hint', class: 'composer-hint', text: 'Enter sends · Shift+Enter for a new line' });
    this.form = h(
      'form',
      { class: 'composer', novalidate: true },
      h('label', { for: 'composer-input', class: 'visually-hidden', text: 'Message' }),
      this.input,
      this.sendButton,
      this.hint,
    );
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.grow());
    this.element = h(
      'section',
      { class: 'conversation', 'aria-labelledby': 'conversation-title', 'data-chat-id': this.chatId },
      h(
        'header',
        { class: 'conv-head' },
        h('a', { class: 'back', href: '#/chats', 'aria-label': 'Back to chats' }, icon('back')),
        h('div', { class: 'conv-names' }, this.title, this.subtitle),
      ),
      this.scroller,
      this.form,
    );
  }

  focus() {
    this.input.focus();
  }

  grow() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  renderHead() {
    const chat = this.store.chats.get(this.chatId);
    this.title.textContent = chatTitle(chat, this.chatId);
    const phone = phoneOf(this.chatId);
    this.subtitle.textContent = phone !== this.title.textContent ? phone : '';
  }

  renderComposerState() {
    const state = this.live.session.state;
    const ready = state === 'CONNECTED';
    this.sendButton.disabled = !ready;
    this.hint.textContent = ready
      ? 'Enter sends · Shift+Enter for a new line'
      : 'WhatsApp is not connected: link it in the WhatsApp panel to send messages.';
  }

  async load(older = false) {
    this.status.textContent = older ? 'Loading older messages…' : 'Loading messages…';
    const hadFocus = document.activeElement === this.older;
    try {
      await this.live.loadMessages(this.chatId, { older });
      this.status.textContent = '';
      this.renderMessages();
      if (hadFocus && this.older.hidden) this.scroller.focus();
    } catch (error) {
      this.status.textContent = `Could not load messages: ${error.message}`;
    }
    if (!older) this.scrollToEnd();
  }

  submit() {
    const body = this.input.value;
    if (!body.trim() || this.sendButton.disabled) return;
    this.input.value = '';
    this.grow();
    this.live.send(this.chatId, body);
    this.scrollToEnd();
    this.input.focus();
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  renderMessages() {
    const stick = this.nearEnd();
    const previousHeight = this.scroller.scrollHeight;
    const wasTop = this.scroller.scrollTop;
    const messages = this.store.messagesOf(this.chatId);
    this.older.hidden = !this.store.hasOlder.get(this.chatId);
    if (!messages.length && this.store.loadedChats.has(this.chatId)) {
      this.status.textContent = 'No messages yet. Say hello!';
    } else if (messages.length && this.status.textContent === 'No messages yet. Say hello!') {
      this.status.textContent = '';
    }
    const wanted = [];
    let day = null;
    for (const msg of messages) {
      const label = dayLabel(msg.timestamp);
      if (label !== day) {
        day = label;
        wanted.push(this.dayNode(label));
      }
      wanted.push(this.messageNode(msg));
    }
    const keep = new Set(wanted);
    for (const [key, node] of this.nodes) {
      if (!keep.has(node)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
    let cursor = this.list.firstChild;
    for (const node of wanted) {
      if (node === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(node, cursor);
    }
    if (stick) this.scrollToEnd();
    else if (wasTop < 40 && this.scroller.scrollHeight > previousHeight) this.scroller.scrollTop = wasTop + this.scroller.scrollHeight - previousHeight;
  }

  dayNode(label) {
    const key = `day:${label}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = h('li', { class: 'day' }, h('span', { text: label }));
      this.nodes.set(key, node);
    }
    return node;
  }

  messageNode(msg) {
    const signature = `${msg.ack}|${msg.body}|${msg.error || ''}|${msg.timestamp}`;
    let node = this.nodes.get(msg.id);
    if (node && node.dataset.signature === signature) return node;
    const fresh = this.bubble(msg);
    fresh.dataset.signature = signature;
    if (node) node.replaceWith(fresh);
    this.nodes.set(msg.id, fresh);
    return fresh;
  }

  bubble(msg) {
    const meta = h('span', { class: 'meta' }, h('time', { datetime: msg.timestamp, title: new Date(toMillis(msg.timestamp)).toLocaleString(), text: clockTime(msg.timestamp) }), msg.fromMe ? ackTick(msg.ack) : null);
    const li = h(
      'li',
      {
        class: `msg ${msg.fromMe ? 'out' : 'in'}${msg.local ? ' pending' : ''}${msg.ack < 0 ? ' failed' : ''}`,
        'data-id': msg.id,
        'data-ack': String(msg.ack),
      },
      h('span', { class: 'visually-hidden', text: msg.fromMe ? 'You: ' : `${chatTitle(this.store.chats.get(this.chatId), this.chatId)}: ` }),
      h('p', { class: 'body', text: msg.body || (msg.type && msg.type !== 'chat' ? `[${msg.type}]` : '') }),
      meta,
    );
    if (msg.ack < 0 && msg.local) {
      li.append(
        h(
          'p',
          { class: 'send-error' },
          h('span', { text: msg.error || 'Not sent.' }),
          ' ',
          h('button', { type: 'button', class: 'link-button', text: 'Retry', onclick: () => this.retry(msg) }),
          h('button', { type: 'button', class: 'link-button', text: 'Discard', onclick: () => this.store.removeLocal(this.chatId, msg.id) }),
        ),
      );
    }
    return li;
  }

  retry(msg) {
    this.store.removeLocal(this.chatId, msg.id);
    this.live.send(this.chatId, msg.body);
    this.input.focus();
  }
}

export function placeholder() {
  return h(
    'section',
    { class: 'conversation placeholder', 'aria-label': 'No conversation open' },
    h('div', {}, h('p', { class: 'big', text: 'Pick a chat' }), h('p', { class: 'muted', text: 'Choose a chat on the left, or start a new one by phone number.' })),
  );
}
