// One message as a bubble: the message it replies to, its media or place, its text, "edited",
// the time and ticks, its reactions, and the button of its actions menu. Text goes in as text.

import { ackTick, clockTime, h, icon, toMillis } from '../dom.js';
import { actionsFor, groupReactions, kindOf, quotedText, revokedText, textOf, youLabel } from '../messages.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.bubble;

const SWIPE_PX = 64; // a swipe right this far (on a touch screen) replies to the message

/**
 * The bubble of ``msg``. ``ctx``: ``chatName`` (the other side, for screen readers),
 * ``senderName(jid)``, ``media(msg, kind)`` (the media element, kept across re-renders),
 * ``onMenu(msg, button)``, ``onQuote(msg)``, ``onReact(msg, emoji)``, ``onReply(msg)``,
 * ``onRetry(msg)``, ``onDiscard(msg)``.
 */
export function bubbleNode(msg, ctx) {
  const kind = kindOf(msg);
  const revoked = kind === 'revoked';
  const classes = ['msg', msg.fromMe ? 'out' : 'in', `kind-${kind}`];
  if (msg.local) classes.push('pending');
  if (msg.ack < 0) classes.push('failed');
  if (revoked) classes.push('revoked');
  const li = h('li', { class: classes.join(' '), 'data-id': msg.id, 'data-ack': String(msg.ack), 'data-kind': kind, tabindex: '-1' });
  if (msg.local && msg.sendState) li.dataset.sendState = msg.sendState;
  li.append(h('span', { class: 'visually-hidden', text: msg.fromMe ? TEXT.you : TEXT.they(ctx.chatName) }));

  const content = h('div', { class: 'msg-content' });
  if (msg.quoted && !revoked) content.append(quoteButton(msg, ctx));
  if (!revoked) {
    const media = ctx.media(msg, kind);
    if (media) content.append(media);
  }
  const text = revoked ? revokedText(msg) : textOf(msg);
  const note = revoked || kind === 'waiting';  // words of the app's, not the sender's
  content.append(h('p', { class: `body${note ? ' deleted-note' : ''}${text ? '' : ' empty'}`, text }));
  content.append(meta(msg, revoked));
  li.append(content);

  if (msg.ack < 0 && msg.local) li.append(sendError(msg, ctx));
  if (!revoked && msg.reactions && msg.reactions.length) li.append(reactionsRow(msg, ctx));
  const actions = actionsFor(msg);
  if (Object.values(actions).some(Boolean)) {
    const button = h(
      'button',
      { type: 'button', class: 'msg-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': TEXT.actions, title: TEXT.actions },
      icon('chevron'),
    );
    button.addEventListener('click', () => ctx.onMenu(msg, button));
    li.append(button);
  }
  if (actions.reply) swipeToReply(li, () => ctx.onReply(msg));
  return li;
}

function quoteButton(msg, ctx) {
  const quoted = msg.quoted;
  const who = quoted.fromMe ? youLabel() : ctx.senderName(quoted.from);
  return h(
    'button',
    { type: 'button', class: `quote${quoted.fromMe ? ' mine' : ''}`, 'aria-label': TEXT.quote(who), onclick: () => ctx.onQuote(msg) },
    h('span', { class: 'quote-author', text: who }),
    h('span', { class: 'quote-text', text: quotedText(quoted) }),
  );
}

function meta(msg, revoked) {
  return h(
    'span',
    { class: 'meta' },
    msg.edited && !revoked ? h('span', { class: 'edited', title: TEXT.editedTitle, text: TEXT.edited }) : null,
    h('time', { datetime: msg.timestamp, title: new Date(toMillis(msg.timestamp)).toLocaleString(), text: clockTime(msg.timestamp) }),
    msg.fromMe && !revoked ? tick(msg) : null,
  );
}

/** The ticks; a pending send's clock says whether it waits its turn or waits to try again. */
function tick(msg) {
  const node = ackTick(msg.ack);
  const label = msg.local && msg.ack >= 0 ? { waiting: TEXT.waiting, queued: TEXT.queued }[msg.sendState] : null;
  if (label) {
    node.setAttribute('aria-label', label);
    node.title = label;
  }
  return node;
}

function sendError(msg, ctx) {
  return h(
    'p',
    { class: 'send-error' },
    h('span', { text: msg.error || TEXT.notSent }),
    ' ',
    h('button', { type: 'button', class: 'link-button', text: TEXT.retry, onclick: () => ctx.onRetry(msg) }),
    h('button', { type: 'button', class: 'link-button', text: TEXT.discard, onclick: () => ctx.onDiscard(msg) }),
  );
}

function reactionsRow(msg, ctx) {
  return h(
    'ul',
    { class: 'reactions', 'aria-label': TEXT.reactions },
    groupReactions(msg.reactions).map((group) =>
      h(
        'li',
        {},
        h('button', {
          type: 'button',
          class: `reaction${group.mine ? ' mine' : ''}`,
          'aria-pressed': group.mine ? 'true' : 'false',
          'aria-label': TEXT.reaction(group.emoji, group.count, group.mine),
          title: TEXT.reaction(group.emoji, group.count, group.mine),
          'data-emoji': group.emoji,
          text: group.count > 1 ? `${group.emoji} ${group.count}` : group.emoji,
          onclick: () => ctx.onReact(msg, group.mine ? '' : group.emoji),
        }),
      ),
    ),
  );
}

/** On a touch screen, a swipe to the right replies (the bubble follows the finger a little). */
function swipeToReply(li, reply) {
  let start = null;
  li.addEventListener('pointerdown', (event) => {
    start = event.pointerType === 'touch' ? { x: event.clientX, y: event.clientY, id: event.pointerId } : null;
  });
  li.addEventListener('pointermove', (event) => {
    if (!start || event.pointerId !== start.id) return;
    const dx = Math.max(0, Math.min(event.clientX - start.x, SWIPE_PX * 1.5));
    li.style.transform = dx > 8 ? `translateX(${dx}px)` : '';
  });
  const end = (event) => {
    if (!start || event.pointerId !== start.id) return;
    const dx = event.clientX - start.x;
    const dy = Math.abs(event.clientY - start.y);
    start = null;
    li.style.transform = '';
    if (event.type === 'pointerup' && dx > SWIPE_PX && dy < SWIPE_PX / 2) reply();
  };
  li.addEventListener('pointerup', end);
  li.addEventListener('pointercancel', end);
}
