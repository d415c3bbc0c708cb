// The plan as a form, built from the Y document and kept in step with it: each text field
// is a <textarea> bound to its Y.Text; dates, categories, owners and statuses are written
// to their Y.Map keys when changed; outcomes and actions are Y.Arrays of Y.Maps, drawn in
// their order and redrawn as others add to them. The server made every top-level key when
// the plan was created: this form never creates one (in a Y.Map the last writer of a key
// wins, and a second "concerns" would wipe out the first). A value of the wrong type (a
// malicious editor can write anything) leaves its field empty and disabled.
import * as Y from "yjs";
import { TextBinding } from "./binding.js";
import { dateValue, el, isDate, newId, option, uuid } from "./dom.js";
import { findEntry, firstWords, removeItem, replayDelta } from "./lists.js";
import {
  CATEGORIES, KEY_DATES, STATUSES, TEXT_AFTER_OUTCOMES, TEXT_BEFORE_OUTCOMES, TEXT_FIELDS, editingText,
} from "./words.js";

const LOCAL = "plan-form"; // the origin of changes made here (anything but the session's REMOTE is sent)
const STATUS_VALUES = STATUSES.map(([value]) => value);

/** A textarea bound to whatever Y.Text `map[key]` holds, rebound if that is replaced. */
class TextSlot {
  constructor(map, key, textarea) {
    this.map = map;
    this.key = key;
    this.textarea = textarea;
    this.value = undefined;
    this.binding = null;
    this.refresh();
  }

  refresh() {
    const value = this.map.get(this.key);
    const text = value instanceof Y.Text ? value : null;
    if (text === this.value) return;
    this.destroy();
    this.value = text;
    this.textarea.dataset.broken = text ? "no" : "yes";
    if (text) this.binding = new TextBinding(this.textarea, text);
    else this.textarea.value = "";
  }

  destroy() {
    if (this.binding) this.binding.destroy();
    this.binding = null;
  }
}

/** Observe a Y type for as long as the view lives. */
function observe(ytype, fn, cleanups) {
  ytype.observe(fn);
  cleanups.push(() => ytype.unobserve(fn));
}

/** The same, for changes anywhere inside it (the words in its texts). */
function observeDeep(ytype, fn, cleanups) {
  ytype.observeDeep(fn);
  cleanups.push(() => ytype.unobserveDeep(fn));
}

/**
 * Make `list` show one view per Y.Map in `yarray`, in order: views are kept for the maps
 * still there (a focused box keeps its focus), made for new ones and dropped for the gone.
 */
function reconcile(list, yarray, views, make) {
  const items = yarray ? yarray.toArray().filter((x) => x instanceof Y.Map) : [];
  const present = new Set(items);
  views.forEach((view, map) => {
    if (present.has(map)) return;
    view.destroy();
    view.li.remove();
    views.delete(map);
  });
  return items.map((map, i) => {
    let view = views.get(map);
    if (!view) {
      view = make(map);
      views.set(map, view);
    }
    const here = list.children[i];
    if (here !== view.li) list.insertBefore(view.li, here || null);
    return view;
  });
}

class ActionView {
  /** remove(): take this action out of its outcome; afterwards focus goes to `then`. */
  constructor(form, map, remove, then) {
    this.form = form;
    this.map = map;
    this.cleanups = [];
    const id = typeof map.get("id") === "string" ? map.get("id") : null;
    const key = (name) => (id ? "action:" + id + ":" + name : null);
    this.legend = el("legend", { className: "plan-form__action-legend" });
    const text = form.textField("action", "What will be done", "One specific step, by whom and by when.", key("text"));
    const evidence = form.textField("evidence", "Evidence of impact", "What has changed for the child because of this action.", key("evidence"));
    this.text = new TextSlot(map, "text", text.textarea);
    this.evidence = new TextSlot(map, "evidence", evidence.textarea);

    this.owner = form.control("select", "owner", "Who will do it", key("owner"));
    this.owner.control.dataset.owner = "yes";
    this.owner.control.addEventListener("change", () => {
      const value = this.owner.control.value;
      form.change(() => (value ? map.set("owner_id", value) : map.delete("owner_id")));
    });
    this.due = form.control("input", "due", "By when", key("due"));
    this.due.control.type = "date";
    this.due.control.addEventListener("change", () => {
      const value = this.due.control.value;
      form.change(() => (isDate(value) ? map.set("due", value) : map.delete("due")));
    });
    this.status = form.control("select", "status", "Status", key("status"));
    this.status.control.appendChild(option("", "Not recorded"));
    STATUSES.forEach(([value, words]) => this.status.control.appendChild(option(value, words)));
    this.status.control.addEventListener("change", () => {
      const value = this.status.control.value;
      if (STATUS_VALUES.includes(value)) form.change(() => map.set("status", value));
    });

    this.li = el("li", { className: "plan-form__action", dataset: { actionId: id || "" } },
      el("fieldset", { className: "plan-form__action-box" },
        this.legend,
        text.wrap,
        el("div", { className: "plan-form__action-row" }, this.owner.wrap, this.due.wrap, this.status.wrap),
        evidence.wrap,
        (this.removal = form.removal("action", remove, then)).wrap));
    this.onChange = () => this.refresh();
    observe(map, this.onChange, this.cleanups);
    this.onWords = () => this.name();
    observeDeep(map, this.onWords, this.cleanups);
    this.refresh();
  }

  name() {
    this.removal.name(firstWords(this.map.get("text")) || this.legend.textContent);
  }

  refresh() {
    this.text.refresh();
    this.evidence.refresh();
    const owner = this.map.get("owner_id");
    this.form.fillOwner(this.owner.control, typeof owner === "string" ? owner : "");
    const due = dateValue(this.map.get("due"));
    if (this.due.control.value !== due) this.due.control.value = due;
    const status = this.map.get("status");
    const known = STATUS_VALUES.includes(status);
    // "Not recorded" is there only to show a status nobody can choose (the wrong type, say).
    this.status.control.options[0].hidden = known;
    this.status.control.options[0].disabled = true;
    const shown = known ? status : "";
    if (this.status.control.value !== shown) this.status.control.value = shown;
    this.form.settle();
  }

  setNumber(outcome, n) {
    this.legend.textContent = "Outcome " + outcome + ", action " + n;
    this.name();
  }

  destroy() {
    this.cleanups.forEach((fn) => fn());
    this.text.destroy();
    this.evidence.destroy();
    this.form.forget(this.li);
  }
}

class OutcomeView {
  constructor(form, map) {
    this.form = form;
    this.map = map;
    this.cleanups = [];
    this.views = new Map();
    this.actionsArray = undefined;
    this.number = 0;
    const id = typeof map.get("id") === "string" ? map.get("id") : null;
    this.legend = el("legend", { className: "plan-form__outcome-legend" });
    const text = form.textField("outcome", "What should be different for the child", "Specific and about the child: what will be better for them, and how we will know.", id ? "outcome:" + id : null);
    this.textarea = text.textarea;
    this.text = new TextSlot(map, "text", text.textarea);
    this.list = el("ol", { className: "plan-form__actions" });
    this.none = el("p", { className: "hint plan-form__none" }, "No actions yet.");
    this.add = el("button", { type: "button", className: "button button--secondary button--small plan-form__add" });
    this.add.addEventListener("click", () => this.addAction());
    this.li = el("li", { className: "plan-form__outcome", dataset: { outcomeId: id || "" } },
      el("fieldset", { className: "plan-form__outcome-box" },
        this.legend,
        text.wrap,
        el("h3", { className: "plan-form__actions-title" }, "Actions"),
        this.none,
        this.list,
        this.add,
        (this.removal = form.removal("outcome", () => form.removeOutcome(map), form.addOutcomeButton)).wrap));
    this.onMapChange = () => {
      this.text.refresh();
      this.bindActions();
      this.form.settle();
    };
    this.onActions = () => this.drawActions();
    observe(map, this.onMapChange, this.cleanups);
    this.onWords = () => this.name();
    observeDeep(map, this.onWords, this.cleanups);
    this.bindActions();
  }

  name() {
    this.removal.name(firstWords(this.map.get("text")) || this.legend.textContent);
  }

  bindActions() {
    const value = this.map.get("actions");
    const actions = value instanceof Y.Array ? value : null;
    if (actions === this.actionsArray) return;
    if (this.actionsArray) this.actionsArray.unobserve(this.onActions);
    this.actionsArray = actions;
    if (actions) actions.observe(this.onActions);
    this.add.dataset.broken = actions ? "no" : "yes";
    this.drawActions();
  }

  drawActions() {
    const views = reconcile(this.list, this.actionsArray, this.views, (m) => new ActionView(this.form, m, () => this.removeAction(m), this.add));
    views.forEach((view, i) => view.setNumber(this.number, i + 1));
    this.none.hidden = views.length > 0;
    this.form.settle();
    this.form.showPresence();
  }

  setNumber(n) {
    this.number = n;
    this.legend.textContent = "Outcome " + n;
    this.add.textContent = "Add an action to outcome " + n;
    this.name();
    Array.from(this.views.values()).forEach((view) => view.setNumber(n, Array.prototype.indexOf.call(this.list.children, view.li) + 1));
  }

  addAction() {
    if (!this.actionsArray) return;
    const action = new Y.Map();
    this.form.change(() => {
      action.set("id", uuid());
      action.set("text", new Y.Text());
      action.set("status", "not_started");
      action.set("evidence", new Y.Text());
      this.actionsArray.push([action]);
    });
    const view = this.views.get(action);
    if (view) view.text.textarea.focus();
  }

  /** Wherever it now is: others may have added or removed actions above it meanwhile. */
  removeAction(action) {
    const actions = this.actionsArray;
    if (actions) this.form.change(() => removeItem(actions, action));
  }

  destroy() {
    this.cleanups.forEach((fn) => fn());
    if (this.actionsArray) this.actionsArray.unobserve(this.onActions);
    this.views.forEach((view) => view.destroy());
    this.text.destroy();
    this.form.forget(this.li);
  }
}

export class PlanForm {
  /**
   * doc: the synced Y.Doc. planType: the page's (the document's own "type" wins).
   * onField(key|null): the person moved into a field (for the others to see).
   * others(): who else is here, [{field, name}], for the "is editing" lines.
   */
  constructor({ doc, planType, canEdit, members, onField, others }) {
    this.doc = doc;
    this.plan = doc.getMap("plan");
    this.canEdit = canEdit;
    this.members = members || [];
    this.membersKnown = Array.isArray(members);
    this.onField = onField || (() => {});
    this.others = others || (() => []);
    this.cleanups = [];
    this.presence = new Map(); // field key -> the line saying who is editing it
    this.views = new Map(); // Y.Map -> OutcomeView
    const type = this.plan.get("type");
    this.planType = typeof type === "string" ? type : planType;
    this.root = el("div", { id: "plan-form", className: "plan-form" });
    this.announcer = el("p", { className: "visually-hidden", role: "status" });
    this._build();
    this.root.appendChild(this.announcer);
    this.applyMode(canEdit);
  }

  // --- building blocks -------------------------------------------------------------------

  /** A labelled, hinted textarea with its "who is editing" line. */
  textField(name, label, hint, presenceKey) {
    const id = newId(name);
    const textarea = el("textarea", { id, name, rows: 4, "aria-describedby": id + "-hint" });
    const editing = this._presenceLine(presenceKey);
    this._track(textarea, presenceKey);
    const wrap = el("div", { className: "field plan-form__field" },
      el("label", { htmlFor: id }, label),
      el("p", { className: "hint", id: id + "-hint" }, hint),
      editing,
      textarea);
    return { wrap, textarea };
  }

  /** A labelled <select> or <input> (the caller sets its type and options). */
  control(tag, name, label, presenceKey) {
    const id = newId(name);
    const control = el(tag, { id, name });
    this._track(control, presenceKey);
    const wrap = el("div", { className: "field plan-form__field" },
      el("label", { htmlFor: id }, label),
      this._presenceLine(presenceKey),
      control);
    return { wrap, control };
  }

  _presenceLine(key) {
    const line = el("p", { className: "plan-form__editing", "aria-live": "polite" });
    if (key) {
      line.dataset.field = key;
      this.presence.set(key, line);
    }
    return line;
  }

  _track(control, key) {
    if (!key) return;
    control.addEventListener("focus", () => this.onField(key));
    control.addEventListener("blur", () => this.onField(null));
  }

  /** A view's element is gone: stop showing presence in it, and stop saying this person
   * is in one of its fields (whoever removed it, the focus went with it). */
  forget(node) {
    if (node.contains(document.activeElement)) this.onField(null);
    node.querySelectorAll(".plan-form__editing[data-field]").forEach((line) => {
      if (this.presence.get(line.dataset.field) === line) this.presence.delete(line.dataset.field);
    });
  }

  /**
   * The "Remove" button of an outcome or action (`what`), and the question it asks in the
   * page before remove() does it. Focus goes to the answer that changes nothing, back to the
   * button if kept, and to `then` (the button to add another) once removed.
   */
  removal(what, remove, then) {
    const button = el("button", { type: "button", className: "button button--secondary button--small" }, "Remove " + what);
    const question = el("p", { id: newId("remove-" + what), className: "plan-form__question" },
      "Remove this " + what + "? It stays in earlier published versions.");
    const yes = el("button", { type: "button", className: "button button--warning button--small" }, "Remove");
    const no = el("button", { type: "button", className: "button button--secondary button--small" }, "Keep");
    const confirm = el("div", { className: "plan-form__confirm", role: "group", "aria-labelledby": question.id, hidden: true },
      question, yes, " ", no);
    const ask = (asking) => {
      button.hidden = asking;
      confirm.hidden = !asking;
      (asking ? no : button).focus();
    };
    button.addEventListener("click", () => ask(true));
    no.addEventListener("click", () => ask(false));
    confirm.addEventListener("keydown", (event) => { if (event.key === "Escape") ask(false); });
    yes.addEventListener("click", () => {
      remove();
      if (!this.root) return;
      if (then && then.isConnected && !then.closest("[hidden]")) then.focus();
      this.announce(what === "outcome" ? "Outcome removed." : "Action removed.");
    });
    return {
      wrap: el("div", { className: "plan-form__remove" }, button, confirm),
      name: (words) => button.setAttribute("aria-label", "Remove " + what + ": " + words),
    };
  }

  /** Said by screen readers (the removed item's own words went with it). */
  announce(text) {
    this.announcer.textContent = "";
    setTimeout(() => { if (this.root) this.announcer.textContent = text; }, 50);
  }

  /** Make a change here (sent to the server, unlike changes that came from it). */
  change(fn) {
    this.doc.transact(fn, LOCAL);
  }

  // --- the form ---------------------------------------------------------------------------

  _build() {
    if (this.planType === "child_protection") this.root.appendChild(this._categories());
    this.root.appendChild(this._keyDates());
    this.textSlots = [];
    const textFields = (keys) => keys.forEach((key) => {
      const [label, hint] = TEXT_FIELDS[key];
      const field = this.textField(key, label, hint, key);
      this.textSlots.push(new TextSlot(this.plan, key, field.textarea));
      this.root.appendChild(field.wrap);
    });
    textFields(TEXT_BEFORE_OUTCOMES);
    this.root.appendChild(this._outcomes());
    textFields(TEXT_AFTER_OUTCOMES);
    this.onPlan = (event) => {
      const keys = event.keysChanged;
      this.textSlots.forEach((slot) => { if (keys.has(slot.key)) slot.refresh(); });
      if (keys.has("category_initial") || keys.has("category_latest")) this._drawCategories();
      if (keys.has("key_dates")) this._bindKeyDates();
      if (keys.has("outcomes")) this._bindOutcomes();
      this.settle();
    };
    observe(this.plan, this.onPlan, this.cleanups);
  }

  _categories() {
    this.categorySelects = {};
    const fields = [["category_initial", "Initial category"], ["category_latest", "Latest category"]].map(([key, label]) => {
      const { wrap, control } = this.control("select", key, label, key);
      control.appendChild(option("", "Not recorded"));
      CATEGORIES.forEach(([value, words]) => control.appendChild(option(value, words)));
      control.addEventListener("change", () => {
        const value = control.value;
        this.change(() => (CATEGORIES.some(([v]) => v === value) ? this.plan.set(key, value) : this.plan.delete(key)));
      });
      this.categorySelects[key] = control;
      return wrap;
    });
    this._drawCategories();
    return el("fieldset", { className: "fieldset plan-form__group" },
      el("legend", { className: "fieldset__legend" }, "Category of the child protection plan"),
      el("p", { className: "hint" }, "The category when the plan began, and the latest if it has changed."),
      el("div", { className: "plan-form__row" }, ...fields));
  }

  _drawCategories() {
    if (!this.categorySelects) return;
    Object.entries(this.categorySelects).forEach(([key, select]) => {
      const value = this.plan.get(key);
      const shown = CATEGORIES.some(([v]) => v === value) ? value : "";
      if (select.value !== shown) select.value = shown;
    });
  }

  _keyDates() {
    this.dateInputs = {};
    this.keyDatesMap = undefined;
    this.reviewsArray = undefined;
    const fields = KEY_DATES.map(([key, label]) => {
      const { wrap, control } = this.control("input", key, label, "key_dates:" + key);
      control.type = "date";
      control.addEventListener("change", () => {
        const map = this.keyDatesMap;
        const value = control.value;
        if (map) this.change(() => (isDate(value) ? map.set(key, value) : map.delete(key)));
      });
      this.dateInputs[key] = control;
      return wrap;
    });
    this.reviewList = el("ol", { className: "plan-form__reviews" });
    this.noReviews = el("p", { className: "hint plan-form__none" }, "No reviews yet.");
    const reviewHeading = el("h3", { className: "plan-form__reviews-title", id: newId("reviews") }, "Reviews");
    this.reviewList.setAttribute("aria-labelledby", reviewHeading.id);
    const adding = this.control("input", "review-new", "Date of a new review", "key_dates:reviews");
    adding.control.type = "date";
    this.newReview = adding.control;
    this.newReviewError = el("p", { className: "field-error", id: newId("review-error"), hidden: true }, "Enter the date of the review.");
    adding.wrap.insertBefore(this.newReviewError, adding.control);
    this.addReview = el("button", { type: "button", className: "button button--secondary button--small" }, "Add review date");
    this.addReview.addEventListener("click", () => this._addReview());
    this.onKeyDates = () => this._drawKeyDates();
    this.reviewRows = []; // one per entry of the reviews array, in its order
    this.reviewRowsOf = undefined; // that array
    this.onReviews = (event) => this._drawReviews(event);
    const group = el("fieldset", { className: "fieldset plan-form__group" },
      el("legend", { className: "fieldset__legend" }, "Key dates"),
      el("p", { className: "hint" }, "The statutory clocks run from these dates, in working days."),
      el("div", { className: "plan-form__row" }, ...fields),
      reviewHeading,
      this.noReviews,
      this.reviewList,
      el("div", { className: "plan-form__add plan-form__row plan-form__row--add" }, adding.wrap, this.addReview));
    this._bindKeyDates();
    return group;
  }

  _bindKeyDates() {
    const value = this.plan.get("key_dates");
    const map = value instanceof Y.Map ? value : null;
    if (map === this.keyDatesMap) return;
    if (this.keyDatesMap) this.keyDatesMap.unobserve(this.onKeyDates);
    this.keyDatesMap = map;
    if (map) map.observe(this.onKeyDates);
    Object.values(this.dateInputs).forEach((input) => { input.dataset.broken = map ? "no" : "yes"; });
    this._drawKeyDates();
    this.settle();
  }

  _drawKeyDates() {
    const map = this.keyDatesMap;
    Object.entries(this.dateInputs).forEach(([key, input]) => {
      const value = map ? dateValue(map.get(key)) : "";
      if (input.value !== value) input.value = value;
    });
    const value = map ? map.get("reviews") : null;
    const reviews = value instanceof Y.Array ? value : null;
    if (reviews !== this.reviewsArray) {
      if (this.reviewsArray) this.reviewsArray.unobserve(this.onReviews);
      this.reviewsArray = reviews;
      if (reviews) reviews.observe(this.onReviews);
      this.newReview.dataset.broken = reviews ? "no" : "yes";
      this.addReview.dataset.broken = reviews ? "no" : "yes";
      this.settle();
    }
    this._drawReviews();
  }

  /**
   * One row per review date. Rows follow their entries (`event` says what changed), so the
   * row someone is changing stays theirs while others add and remove dates around it.
   */
  _drawReviews(event) {
    const dates = this.reviewsArray ? this.reviewsArray.toArray() : [];
    const make = () => {
      const { wrap, control } = this.control("input", "review", "Review", null);
      control.type = "date";
      const row = el("li", { className: "plan-form__review" }, wrap);
      Object.assign(row, { input: control, label: wrap.querySelector("label") });
      control.addEventListener("change", () => this._changeReview(row));
      return row;
    };
    const drop = (row) => row.remove();
    if (event && event.target === this.reviewsArray) replayDelta(this.reviewRows, event.changes.delta, make, drop);
    if (this.reviewRowsOf !== this.reviewsArray || this.reviewRows.length !== dates.length) {
      this.reviewRows.forEach(drop);
      this.reviewRows = dates.map(make);
      this.reviewRowsOf = this.reviewsArray;
    }
    const list = this.reviewList;
    this.reviewRows.forEach((row, i) => {
      if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
      row.date = dates[i]; // whatever is stored, so that it can be found again as it is
      const label = "Review " + (i + 1);
      if (row.label.textContent !== label) row.label.textContent = label;
      const shown = dateValue(dates[i]);
      if (row.input.value !== shown) row.input.value = shown;
    });
    this.noReviews.hidden = dates.length > 0;
    this.settle();
  }

  /**
   * A review date changed in place; emptied, it is removed. The entry is found again when
   * the change is made: the date this row showed, where it is now.
   */
  _changeReview(row) {
    const reviews = this.reviewsArray;
    if (!reviews) return;
    const value = row.input.value;
    let found = -1;
    this.change(() => {
      found = findEntry(reviews.toArray(), row.date, this.reviewRows.indexOf(row));
      if (found === -1) return;
      reviews.delete(found, 1);
      if (isDate(value)) reviews.insert(found, [value]);
    });
    // Someone else changed or removed this date meanwhile: theirs stands, shown again.
    if (found === -1) this._drawReviews();
    else if (!isDate(value)) (this.reviewRows[found] ? this.reviewRows[found].input : this.newReview).focus();
  }

  _addReview() {
    const value = this.newReview.value;
    const wrong = !isDate(value);
    this.newReviewError.hidden = !wrong;
    this.newReview.classList.toggle("input--error", wrong);
    if (wrong) {
      this.newReview.setAttribute("aria-describedby", this.newReviewError.id);
      this.newReview.focus();
      return;
    }
    this.newReview.removeAttribute("aria-describedby");
    if (!this.reviewsArray) return;
    const reviews = this.reviewsArray;
    this.change(() => reviews.push([value]));
    this.newReview.value = "";
  }

  _outcomes() {
    this.outcomeList = el("ol", { className: "plan-form__outcomes" });
    this.noOutcomes = el("p", { className: "hint plan-form__none" }, "No outcomes yet.");
    this.addOutcomeButton = el("button", { type: "button", className: "button button--secondary plan-form__add" }, "Add an outcome");
    this.addOutcomeButton.addEventListener("click", () => this._addOutcome());
    this.outcomesArray = undefined;
    this.onOutcomes = () => this._drawOutcomes();
    const heading = el("h2", { id: newId("outcomes") }, "Outcomes and actions");
    const section = el("div", { className: "plan-form__section" },
      heading,
      el("p", { className: "hint" }, "What should be different for the child, and who will do what, by when, to get there."),
      this.noOutcomes,
      this.outcomeList,
      this.addOutcomeButton);
    this.outcomeList.setAttribute("aria-labelledby", heading.id);
    this._bindOutcomes();
    return section;
  }

  _bindOutcomes() {
    const value = this.plan.get("outcomes");
    const outcomes = value instanceof Y.Array ? value : null;
    if (outcomes === this.outcomesArray) return;
    if (this.outcomesArray) this.outcomesArray.unobserve(this.onOutcomes);
    this.outcomesArray = outcomes;
    if (outcomes) outcomes.observe(this.onOutcomes);
    this.addOutcomeButton.dataset.broken = outcomes ? "no" : "yes";
    this._drawOutcomes();
  }

  _drawOutcomes() {
    const views = reconcile(this.outcomeList, this.outcomesArray, this.views, (m) => new OutcomeView(this, m));
    views.forEach((view, i) => view.setNumber(i + 1));
    this.noOutcomes.hidden = views.length > 0;
    this.settle();
    this.showPresence();
  }

  /** Wherever it now is: others may have added or removed outcomes above it meanwhile. */
  removeOutcome(outcome) {
    const outcomes = this.outcomesArray;
    if (outcomes) this.change(() => removeItem(outcomes, outcome));
  }

  _addOutcome() {
    const outcomes = this.outcomesArray;
    if (!outcomes) return;
    const outcome = new Y.Map();
    this.change(() => {
      outcome.set("id", uuid());
      outcome.set("text", new Y.Text());
      outcome.set("actions", new Y.Array());
      outcomes.push([outcome]);
    });
    const view = this.views.get(outcome);
    if (view) view.textarea.focus();
  }

  // --- people -------------------------------------------------------------------------------

  /** The room's people ([{id, name, organisation}]) for the owner lists. */
  setMembers(members) {
    this.members = members;
    this.membersKnown = true;
    this.root.querySelectorAll("select[data-owner]").forEach((select) => this.fillOwner(select, select.value));
  }

  fillOwner(select, ownerId) {
    const wanted = [["", "No one yet"]].concat(this.members.map((m) => [m.id, m.organisation ? m.name + " (" + m.organisation + ")" : m.name]));
    if (ownerId && !this.members.some((m) => m.id === ownerId)) {
      wanted.push([ownerId, this.membersKnown ? "Someone no longer in this room" : "A person in this room (name not available)"]);
    }
    const same = select.options.length === wanted.length &&
      wanted.every(([value, text], i) => select.options[i].value === value && select.options[i].textContent === text);
    if (!same) {
      select.textContent = "";
      wanted.forEach(([value, text]) => select.appendChild(option(value, text)));
    }
    if (select.value !== ownerId) select.value = ownerId;
  }

  /** Who else is editing which field (beside each field it is in). */
  showPresence() {
    if (!this.root) return;
    const others = this.others();
    this.presence.forEach((line, key) => {
      const names = [];
      others.forEach((o) => { if (o.field === key && names.indexOf(o.name) === -1) names.push(o.name); });
      const text = editingText(names);
      if (line.textContent !== text) line.textContent = text;
      const field = line.closest(".plan-form__field");
      if (field) field.classList.toggle("plan-form__field--others", names.length > 0);
    });
  }

  // --- read only or not ----------------------------------------------------------------------

  applyMode(canEdit) {
    this.canEdit = canEdit;
    this.settle();
  }

  /** Controls made since (new outcomes, actions, reviews) take the form's mode. */
  settle() {
    if (!this.root) return;
    const canEdit = this.canEdit;
    this.root.querySelectorAll("textarea").forEach((box) => {
      const broken = box.dataset.broken === "yes";
      if (box.readOnly !== !canEdit) box.readOnly = !canEdit;
      if (box.disabled !== broken) box.disabled = broken;
    });
    this.root.querySelectorAll("select, input").forEach((control) => {
      const off = !canEdit || control.dataset.broken === "yes";
      if (control.disabled !== off) control.disabled = off;
    });
    this.root.querySelectorAll("button").forEach((button) => {
      const off = button.dataset.broken === "yes";
      if (button.disabled !== off) button.disabled = off;
    });
    this.root.querySelectorAll(".plan-form__add, .plan-form__remove").forEach((part) => { part.hidden = !canEdit; });
  }

  destroy() {
    this.cleanups.forEach((fn) => fn());
    if (this.outcomesArray) this.outcomesArray.unobserve(this.onOutcomes);
    if (this.keyDatesMap) this.keyDatesMap.unobserve(this.onKeyDates);
    if (this.reviewsArray) this.reviewsArray.unobserve(this.onReviews);
    this.views.forEach((view) => view.destroy());
    this.textSlots.forEach((slot) => slot.destroy());
    this.root.remove();
    this.root = null;
  }
}
