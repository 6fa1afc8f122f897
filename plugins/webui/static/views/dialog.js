// A modal confirmation: resolves true when confirmed. Escape and Cancel say no.

import { h } from '../dom.js';
import { T } from '../i18n.js';

export function confirmDialog({ title, message, confirm = T.dialog.ok, danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = `dialog-title-${Date.now()}`;
    const cancelButton = h('button', { type: 'button', class: 'button', text: T.dialog.cancel });
    const okButton = h('button', { type: 'button', class: danger ? 'button danger' : 'button primary', text: confirm });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId, text: title }),
      h('p', { text: message }),
      h('div', { class: 'dialog-actions' }, cancelButton, okButton),
    );
    const finish = (answer) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
      resolve(answer);
    };
    cancelButton.addEventListener('click', () => finish(false));
    okButton.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancelButton.focus();
  });
}
