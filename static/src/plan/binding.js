// A <textarea> bound to a Y.Text: each input becomes one delete + insert (the single range
// that changed), and others' changes are written back with the caret moved through them.
// While an input method is composing (Chinese, Japanese, accented letters on some
// keyboards) the box is left alone; what it composed is applied at the end, moved through
// whatever arrived meanwhile.
import { diffText, displayIndex, forDisplay, rebaseEdit, shiftPosition, textIndex } from "./textdiff.js";

export class TextBinding {
  constructor(textarea, ytext) {
    this.textarea = textarea;
    this.ytext = ytext;
    this.text = ytext.toString(); // the Y.Text when the box last showed it
    this.composing = false;
    this.missed = []; // deltas that arrived while composing, oldest first
    textarea.value = forDisplay(this.text);

    this.onInput = () => { if (!this.composing) this._takeInput(); };
    this.onCompositionStart = () => { this.composing = true; };
    this.onCompositionEnd = () => {
      this.composing = false;
      this._takeInput();
    };
    this.onChange = (event) => {
      if (event.transaction.origin === this) return; // our own input: the box already shows it
      if (this.composing) { this.missed.push(event.delta); return; }
      this._show([event.delta]);
    };
    textarea.addEventListener("input", this.onInput);
    textarea.addEventListener("compositionstart", this.onCompositionStart);
    textarea.addEventListener("compositionend", this.onCompositionEnd);
    ytext.observe(this.onChange);
  }

  _takeInput() {
    const box = this.textarea;
    const old = this.text;
    const missed = this.missed;
    this.missed = [];
    let edit = box.readOnly || box.disabled ? null : diffText(forDisplay(old), box.value, box.selectionEnd);
    if (edit) {
      const start = textIndex(old, edit.index);
      edit = { index: start, remove: textIndex(old, edit.index + edit.remove) - start, insert: edit.insert };
      if (missed.length) edit = rebaseEdit(edit, missed);
      this.ytext.doc.transact(() => {
        if (edit.remove) this.ytext.delete(edit.index, edit.remove);
        if (edit.insert) this.ytext.insert(edit.index, edit.insert);
      }, this);
    }
    this.text = this.ytext.toString();
    const shown = forDisplay(this.text);
    if (box.value !== shown) {
      // Others' words arrived while composing (or the box may not be changed): show the
      // text as it now is, the caret after what this person typed.
      const caret = edit ? displayIndex(this.text, edit.index + edit.insert.length) : box.selectionEnd;
      box.value = shown;
      if (document.activeElement === box) box.setSelectionRange(caret, caret);
    }
  }

  _show(deltas) {
    const box = this.textarea;
    const focused = document.activeElement === box;
    let start = textIndex(this.text, box.selectionStart);
    let end = textIndex(this.text, box.selectionEnd);
    const direction = box.selectionDirection;
    deltas.forEach((delta) => {
      start = shiftPosition(start, delta);
      end = shiftPosition(end, delta);
    });
    this.text = this.ytext.toString();
    const shown = forDisplay(this.text);
    if (box.value !== shown) box.value = shown;
    if (focused) {
      box.setSelectionRange(displayIndex(this.text, start), displayIndex(this.text, Math.max(start, end)), direction || "none");
    }
  }

  destroy() {
    const box = this.textarea;
    box.removeEventListener("input", this.onInput);
    box.removeEventListener("compositionstart", this.onCompositionStart);
    box.removeEventListener("compositionend", this.onCompositionEnd);
    this.ytext.unobserve(this.onChange);
  }
}
