// A small popup menu of buttons beside the button that opened it: the message actions, the
// reaction picker. Keyboard first: it opens with its first item focused; arrows, Home and End
// move; Escape (or Tab, or a click elsewhere) closes it and gives the focus back to its button.
// One is open at a time.

import { h } from '../dom.js';

let current = null;

/**
 * Open a menu by ``opener`` (a button). ``items``: [{label, text?, onSelect, danger?, pressed?,
 * name?}] (``text`` is what shows when it differs from the accessible label, as for an emoji);
 * ``horizontal`` lays them in a row (arrows left and right). Returns the menu's element.
 */
export function openMenu(opener, items, { label, className = '', horizontal = false, onClose = null } = {}) {
  closeMenu({ restoreFocus: false });
  const buttons = items.map((item) =>
    h('button', {
      type: 'button',
      role: 'menuitem',
      class: `menu-item${item.danger ? ' danger' : ''}${item.pressed ? ' pressed' : ''}`,
      'data-action': item.name || null,
      'aria-label': item.text ? item.label : null,
      title: item.text ? item.label : null,
      text: item.text || item.label,
      tabindex: '-1',
    }),
  );
  const menu = h('div', { class: `popup-menu ${className}`.trim(), role: 'menu', 'aria-label': label, 'aria-orientation': horizontal ? 'horizontal' : 'vertical' }, buttons);
  const state = { menu, opener, onClose, reposition: null, onPointer: null };
  buttons.forEach((button, index) => {
    button.addEventListener('click', () => {
      closeMenu();
      items[index].onSelect();
    });
  });
  menu.addEventListener('keydown', (event) => {
    const at = buttons.indexOf(document.activeElement);
    const next = horizontal ? 'ArrowRight' : 'ArrowDown';
    const previous = horizontal ? 'ArrowLeft' : 'ArrowUp';
    let to = null;
    if (event.key === next) to = (at + 1) % buttons.length;
    else if (event.key === previous) to = (at - 1 + buttons.length) % buttons.length;
    else if (event.key === 'Home') to = 0;
    else if (event.key === 'End') to = buttons.length - 1;
    else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeMenu();
      return;
    } else if (event.key === 'Tab') {
      closeMenu({ restoreFocus: false });
      return;
    }
    if (to !== null) {
      event.preventDefault();
      buttons[to].focus();
    }
  });
  opener.setAttribute('aria-expanded', 'true');
  document.body.append(menu);
  state.reposition = () => place(menu, opener);
  state.onPointer = (event) => {
    if (!menu.contains(event.target) && !opener.contains(event.target)) closeMenu({ restoreFocus: false });
  };
  window.addEventListener('resize', state.reposition);
  document.addEventListener('scroll', state.reposition, true);
  document.addEventListener('pointerdown', state.onPointer, true);
  current = state;
  state.reposition();
  buttons[0]?.focus();
  return menu;
}

/** Close the open menu, if any; its button gets the focus back unless told otherwise. */
export function closeMenu({ restoreFocus = true } = {}) {
  const state = current;
  if (!state) return;
  current = null;
  window.removeEventListener('resize', state.reposition);
  document.removeEventListener('scroll', state.reposition, true);
  document.removeEventListener('pointerdown', state.onPointer, true);
  const hadFocus = state.menu.contains(document.activeElement);
  state.menu.remove();
  state.opener.setAttribute('aria-expanded', 'false');
  if (restoreFocus && hadFocus && state.opener.isConnected) state.opener.focus();
  state.onClose?.({ restoreFocus });
}

export function menuIsOpen() {
  return current !== null;
}

/** Below the button (or above it when there is no room), kept inside the window. */
function place(menu, opener) {
  if (!opener.isConnected) {
    closeMenu({ restoreFocus: false });
    return;
  }
  const anchor = opener.getBoundingClientRect();
  const box = menu.getBoundingClientRect();
  const margin = 6;
  let top = anchor.bottom + 4;
  if (top + box.height > window.innerHeight - margin && anchor.top - box.height - 4 > margin) top = anchor.top - box.height - 4;
  let left = anchor.right - box.width;
  left = Math.max(margin, Math.min(left, window.innerWidth - box.width - margin));
  menu.style.top = `${Math.max(margin, top)}px`;
  menu.style.left = `${left}px`;
}
