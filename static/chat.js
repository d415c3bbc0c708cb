// Live chat in a case room (socket.io). The page is server-rendered and works without
// this script (plain form posts); with it, messages arrive live, sends are idempotent
// (client ids), and a dropped connection catches up from the last message seen.
// Message text is only ever placed with textContent: never as HTML.
(function () {
  "use strict";

  var KIND_LABELS = {
    voice_of_child: "voice of the child", third_party: "third-party report",
    agency_event: "agency event (third-party report)"
  };

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var chat = document.getElementById("chat");
    if (!chat || typeof io === "undefined") return;
    var roomId = chat.dataset.roomId;
    var me = chat.dataset.me;
    // Read receipts are left only by people in the room (not by someone reading by break-glass).
    var receipts = chat.dataset.receipts === "on";
    var list = document.getElementById("message-list");
    var scroller = document.getElementById("message-scroller");
    var template = document.getElementById("message-template");
    var form = document.getElementById("post-form");
    var status = document.getElementById("connection-status");
    var typingLine = document.getElementById("typing");
    var earlier = document.getElementById("load-earlier");
    var threadInput = document.getElementById("thread_id");
    var replyNote = document.getElementById("replying-to");
    var typers = {};
    document.querySelectorAll("#chat .js-only").forEach(function (el) { el.hidden = false; });
    var cancelReply = document.getElementById("cancel-reply");
    if (cancelReply) cancelReply.addEventListener("click", function (event) { event.preventDefault(); threadInput.value = ""; replyNote.hidden = true; });
    var lastMarked = null;
    // The room page filtered to one kind of entry (?kind=): live news keeps to it.
    var kindFilter = list.dataset.kind || null;

    // The newest and oldest message loaded, in the room's order: the cursors for catching
    // up and scrolling back (replies sit under their parent, so the page's order is not it).
    var newestId = list.dataset.newest || null;
    var oldestId = list.dataset.oldest || null;
    function lastId() { return newestId; }
    function firstId() { return oldestId; }
    function find(id) { return list.querySelector('li.message[data-id="' + CSS.escape(id) + '"]'); }

    function setStatus(text, state) {
      if (!status) return;
      status.textContent = text;
      status.dataset.state = state;
    }

    function when(iso) {
      var d = new Date(iso);
      return d.toLocaleString("en-GB", { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
    }

    function fill(li, m) {
      li.dataset.id = m.id;
      li.dataset.authorId = m.author.id;
      li.id = "m-" + m.id;
      li.className = "message message--" + m.kind + (m.sensitivity === "restricted" ? " message--restricted" : "") + (m.thread_id ? " message--reply" : "");
      // A restricted thread is replied to only by its organisation (the server insists).
      var replyButton = li.querySelector('[data-action="reply"]');
      if (replyButton) replyButton.hidden = m.sensitivity === "restricted" && m.author.organisation.id !== list.dataset.myOrg;
      li.querySelector(".message__author").textContent = m.author.name;
      li.querySelector(".message__org").textContent = m.author.organisation.name;
      var kind = li.querySelector(".message__kind");
      kind.textContent = KIND_LABELS[m.kind] || m.kind;
      kind.className = "tag tag--" + m.kind + " message__kind";
      li.querySelector(".message__restricted").hidden = m.sensitivity !== "restricted";
      var time = li.querySelector("time");
      time.setAttribute("datetime", m.created_at);
      time.textContent = when(m.created_at);
      li.querySelector(".message__edited").hidden = !m.edited;
      var body = li.querySelector(".message__body");
      if (m.retracted) {
        body.textContent = "This message was retracted by its author.";
        body.classList.add("hint");
      } else {
        body.textContent = m.body;
        body.classList.remove("hint");
      }
      // What a partner system said of an event (issue #14), as the server renders it.
      var agency = li.querySelector(".message__agency");
      if (agency) {
        var a = m.agency_event;
        agency.hidden = !a;
        agency.textContent = a ? a.label + " on " + when(a.occurred_at) + (a.place ? ", " + a.place : "") +
          ". Third-party report from " + m.author.organisation.name + "; their reference " + a.reference + "." : "";
      }
      var reply = li.querySelector(".message__in-reply");
      if (reply) {
        reply.hidden = !m.thread_id;
        if (m.thread_id) { reply.href = "#m-" + m.thread_id; }
      }
      var own = m.author.id === me && !m.retracted;
      li.querySelectorAll(".own-only").forEach(function (el) { el.hidden = !own; });
      li.querySelector(".message__actions").hidden = false;
      var note = li.querySelector(".message__note");
      if (note) {
        note.hidden = m.sensitivity !== "restricted";
        note.textContent = "Only " + m.author.organisation.name + " and the lead professional see this.";
      }
      li.querySelectorAll(".history-only").forEach(function (el) { el.hidden = !m.edited; });
      // Receipts the server computed (a sync); news of an edit carries none, so keep ours.
      (m.seen_by || []).forEach(function (r) { seenOn(li, r.id, r.name); });
    }

    function setSeen(li, names) {
      var seen = li.querySelector(".message__seen");
      if (!seen) return;
      seen.textContent = names.length ? "Seen by " + names.join(", ") : "";
      seen.hidden = !names.length;
    }

    // The list scrolls inside a column-reverse box: 0 is the bottom, the newest.
    function atNewest() { return !scroller || Math.abs(scroller.scrollTop) < 40; }
    function toNewest() { if (scroller) scroller.scrollTop = 0; }

    function countReplies(parent) {
      var n = parent.querySelector(".thread__replies").children.length;
      var thread = parent.querySelector(".thread");
      thread.hidden = n === 0;
      thread.querySelector(".thread__count").textContent = n + (n === 1 ? " reply" : " replies");
    }

    // Where a message goes: a reply under its parent, in the thread; anything else (or a
    // reply whose parent is not on the page) in the list. Both in time order.
    function place(li, m) {
      var empty = list.querySelector(".messages__empty");
      if (empty) empty.remove();
      var parent = m.thread_id ? find(m.thread_id) : null;
      var container = parent ? parent.querySelector(".thread__replies") : list;
      var own = li.querySelector(".thread");
      if (m.thread_id && own) own.remove(); // replies to a reply join the same thread
      var later = Array.prototype.find.call(container.children, function (other) {
        var t = other.querySelector(".message__meta time");
        return t && t.getAttribute("datetime") > m.created_at;
      });
      container.insertBefore(li, later || null);
      if (parent) countReplies(parent);
      return parent;
    }

    // `mine`: the answer to my own post (its news may have arrived first).
    function add(m, mine) {
      var li = find(m.id);
      var stay = atNewest();
      if (li) {
        fill(li, m);
        if (!mine) return li;
      } else {
        if (kindFilter && m.kind !== kindFilter) return null; // the page shows one kind only
        li = template.content.firstElementChild.cloneNode(true);
        fill(li, m);
        place(li, m);
        newestId = m.id;
      }
      var parent = m.thread_id ? find(m.thread_id) : null;
      if (parent && mine) {
        // My own reply: open its thread and show it.
        parent.querySelector(".thread").open = true;
        li.scrollIntoView({ block: "nearest" });
      } else if (stay || mine) {
        toNewest();
      }
      return li;
    }

    function prepend(items) {
      items.forEach(function (m) {
        if (find(m.id)) return;
        var li = template.content.firstElementChild.cloneNode(true);
        fill(li, m);
        place(li, m);
      });
      if (items.length) oldestId = items[0].id;
    }

    function addSeen(r) {
      // "Seen by" under exactly the items the server says this read covers: each of them
      // one the reader may read (a read "up to" a message does not cover earlier items
      // they may not see, such as another organisation's restricted note).
      (r.message_ids || [r.message_id]).forEach(function (id) {
        var li = find(id);
        if (li) seenOn(li, r.user_id, r.name);
      });
    }

    function seenOn(li, userId, name) {
      if (li.dataset.authorId === userId) return;
      var names = (li.dataset.seenInitial || "").split("|").filter(Boolean);
      if (names.indexOf(name) === -1) names.push(name);
      names.sort();
      li.dataset.seenInitial = names.join("|");
      setSeen(li, names);
    }

    // Read receipts are coalesced: at most one every few seconds, however busy the room
    // (each is a write, an audit event and a notice to everyone who may read the message).
    var READ_EVERY_MS = 3000;
    var lastReadAt = 0;
    var readTimer = null;
    function markRead() {
      if (readTimer || !receipts) return;
      var wait = Math.max(0, lastReadAt + READ_EVERY_MS - Date.now());
      readTimer = setTimeout(function () {
        readTimer = null;
        var id = lastId();
        if (!id || id === lastMarked || document.hidden || !socket.connected) return;
        lastMarked = id;
        lastReadAt = Date.now();
        socket.emit("read", { message_id: id });
      }, wait);
    }

    // Mentions that reached nobody: the author is told at once (the server decides who
    // could be notified; the wording is the same whether or not such an account exists).
    function warnUnheard(handles) {
      var box = document.getElementById("mention-warning");
      if (!box) return;
      box.textContent = "";
      handles.forEach(function (h) {
        var p = document.createElement("p");
        p.textContent = "@" + h + " is not in this room, or cannot see this message: they will not be notified and cannot see it.";
        box.appendChild(p);
      });
      box.hidden = !handles.length;
    }

    function showTyping() {
      var names = Object.keys(typers).map(function (k) { return typers[k].name; });
      typingLine.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…" : "";
    }

    function setOnline(userId, online) {
      var dot = document.querySelector('[data-presence="' + CSS.escape(userId) + '"]');
      if (!dot) return;
      dot.dataset.online = online ? "true" : "false";
      dot.textContent = online ? "online" : "";
    }

    // Open at the newest message with the box to write in on screen (the list itself opens
    // at its end); a link to one message (#m-…, e.g. a mention) opens at that one instead.
    var linked = location.hash.indexOf("#m-") === 0 ? document.getElementById(location.hash.slice(1)) : null;
    if (linked && list.contains(linked)) {
      var folded = linked.closest("details.thread");
      if (folded) folded.open = true;
      linked.scrollIntoView({ block: "center" });
    } else {
      (form || chat).scrollIntoView({ block: "end" });
    }

    var socket = io({ path: "/socket.io", transports: ["websocket", "polling"] });

    socket.on("connect", function () {
      setStatus("Live", "live");
      socket.emit("join", { room_id: roomId }, function (answer) {
        if (!answer || !answer.ok) { setStatus("Not connected: " + ((answer && answer.error && answer.error.message) || "refused"), "down"); return; }
        (answer.online || []).forEach(function (uid) { setOnline(uid, true); });
        // Catch up on whatever arrived while we were away: no gaps, no duplicates.
        var since = lastId();
        var ask = since ? { room_id: roomId, since: since, limit: 200 } : { room_id: roomId, limit: 100 };
        if (kindFilter) ask.kind = kindFilter;
        socket.emit("sync", ask, function (page) {
          if (page && page.items) page.items.forEach(function (m) { add(m); });
          markRead();
        });
      });
    });
    // The server closes a socket whose sign-in has ended (its `error` said why, and the
    // client will not reconnect by itself): keep that message rather than "Reconnecting…".
    socket.on("disconnect", function (reason) {
      if (reason === "io server disconnect") {
        if (!(status && status.dataset.state === "error")) setStatus("Disconnected: sign in again and reload the page.", "error");
        return;
      }
      setStatus("Reconnecting…", "down");
    });
    socket.on("connect_error", function () { setStatus("Reconnecting…", "down"); });

    socket.on("message", function (m) {
      if (m.room_id !== roomId) return;
      add(m);
      delete typers[m.author.id];
      showTyping();
      markRead();
    });
    socket.on("message_edited", function (m) { if (m.room_id === roomId) add(m); });
    // An earlier item the lead has just shared with me: in its place in the history.
    socket.on("message_shared", function (m) {
      if (m.room_id !== roomId || find(m.id) || (kindFilter && m.kind !== kindFilter)) return;
      var li = template.content.firstElementChild.cloneNode(true);
      fill(li, m);
      place(li, m);
    });
    // A file shared in the room (metadata only; files.js decrypts its name with the
    // reader's own key): into the Files list, and a line in the conversation.
    socket.on("file", function (f) {
      if (f.room_id !== roomId) return;
      document.dispatchEvent(new CustomEvent("caseroom:file", { detail: f }));
      if (kindFilter && f.kind !== kindFilter) return;
      if (list.querySelector('li[data-file-entry="' + CSS.escape(f.id) + '"]')) return;
      var li = document.createElement("li");
      li.className = "timeline-file" + (f.sensitivity === "restricted" ? " message--restricted" : "");
      li.dataset.fileEntry = f.id;
      var text = document.createElement("span");
      text.textContent = f.uploader.name + " (" + f.uploader.organisation.name + ") shared " +
        (f.sensitivity === "restricted" ? "a restricted file" : "a file") + " (" + (KIND_LABELS[f.kind] || f.kind) + ") at " + when(f.created_at) + ". ";
      var link = document.createElement("a");
      link.href = "#files";
      link.textContent = "Open it in Files";
      li.appendChild(text);
      li.appendChild(link);
      var empty = list.querySelector(".messages__empty");
      if (empty) empty.remove();
      list.appendChild(li);
    });
    socket.on("notice", function () { window.caseroomNotices && window.caseroomNotices.bump(); });
    socket.on("typing", function (t) {
      if (t.room_id !== roomId || t.user_id === me) return;
      clearTimeout((typers[t.user_id] || {}).timer);
      typers[t.user_id] = { name: t.name, timer: setTimeout(function () { delete typers[t.user_id]; showTyping(); }, 4000) };
      showTyping();
    });
    socket.on("presence", function (p) { if (p.room_id === roomId) setOnline(p.user_id, p.online); });
    socket.on("read", function (r) {
      if (r.room_id !== roomId || r.user_id === me) return;
      addSeen(r);
    });
    socket.on("mention", function (n) {
      if (n.room_id !== roomId) {
        setStatus("You were mentioned in another room", "live");
      }
    });
    socket.on("member_removed", function (r) {
      if (r.room_id !== roomId) return;
      setStatus("You no longer have access to this room.", "down");
      list.innerHTML = "";
      if (form) form.remove();
      socket.disconnect();
    });
    socket.on("error", function (e) { if (e && e.message) setStatus(e.message, "error"); });
    document.addEventListener("visibilitychange", markRead);

    if (form) {
      var body = form.querySelector("textarea[name=body]");
      var lastTyping = 0;
      body.addEventListener("input", function () {
        var now = Date.now();
        if (socket.connected && now - lastTyping > 2000) {
          lastTyping = now;
          socket.emit("typing", { room_id: roomId });
        }
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        event.stopImmediatePropagation();
        // Without a live connection, post the plain form (a full page load).
        if (!socket.connected) { HTMLFormElement.prototype.submit.call(form); return; }
        var error = document.getElementById("post-error");
        var announce = document.getElementById("messages-status");
        function refuse(text) {
          error.textContent = text;
          error.hidden = false;
          if (announce) announce.textContent = "The message was not posted.";
          body.focus();
        }
        if (!body.value.trim()) { refuse("Write a message before posting it"); return; }
        var data = {
          room_id: roomId,
          body: body.value,
          kind: form.querySelector("[name=kind]").value,
          sensitivity: form.querySelector("[name=sensitivity]").value,
          client_id: (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random()
        };
        if (threadInput && threadInput.value) data.thread_id = threadInput.value;
        var send = function (attempt) {
          socket.timeout(5000).emit("message", data, function (err, answer) {
            if (err) {
              if (attempt < 3) send(attempt + 1);
              else refuse("Not posted: the connection dropped. Your text is kept; try again.");
              return;
            }
            if (answer && answer.ok) {
              add(answer.message, true);
              warnUnheard(answer.message.not_notified || []);
              body.value = "";
              error.hidden = true;
              if (announce) announce.textContent = "Message posted.";
              body.focus();
              if (threadInput) { threadInput.value = ""; replyNote.hidden = true; }
            } else {
              refuse((answer && answer.error && answer.error.message) || "The message was not posted.");
            }
          });
        };
        send(1); // same client_id on every retry: the server stores it once
      }, true);
    }

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button) return;
      var li = button.closest("li.message");
      var id = li.dataset.id;
      var action = button.dataset.action;
      if (action === "reply" && threadInput) {
        threadInput.value = id;
        replyNote.hidden = false;
        replyNote.querySelector("span").textContent = li.querySelector(".message__author").textContent;
        // A reply in a restricted thread is restricted too (the server insists).
        var who = form.querySelector("#sensitivity");
        if (who && li.classList.contains("message--restricted")) who.value = "restricted";
        form.querySelector("textarea").focus();
      } else if (action === "edit") {
        editInPlace(li, id);
      } else if (action === "retract") {
        if (window.confirm("Retract this message? Others will no longer see its text.")) {
          socket.emit("retract", { message_id: id }, function (answer) { if (answer && answer.ok) add(answer.message); });
        }
      } else if (action === "history") {
        var box = li.querySelector(".message__history");
        fetch("/api/v1/messages/" + encodeURIComponent(id) + "/history", { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (page) {
            box.textContent = "";
            (page.items || []).forEach(function (e) {
              var item = document.createElement("li");
              item.textContent = when(e.replaced_at) + ": " + e.body;
              box.appendChild(item);
            });
            box.hidden = false;
          });
      }
    });

    // Edit in place: the text becomes a box under the author's own message; Save sends
    // it, Cancel or Escape puts the message back as it was.
    function editInPlace(li, id) {
      var open = li.querySelector(".message__editor");
      if (open) { open.querySelector("textarea").focus(); return; }
      var shown = li.querySelector(".message__body");
      var current = shown.textContent;
      var editor = document.createElement("form");
      editor.className = "message__editor";
      var label = document.createElement("label");
      label.className = "visually-hidden";
      label.htmlFor = "edit-" + id;
      label.textContent = "Edit your message";
      var hint = document.createElement("p");
      hint.className = "hint";
      hint.id = "edit-hint-" + id;
      hint.textContent = "The earlier text stays visible to others as history.";
      var problem = document.createElement("p");
      problem.className = "field-error";
      problem.setAttribute("role", "alert");
      problem.hidden = true;
      var box = document.createElement("textarea");
      box.id = "edit-" + id;
      box.maxLength = 10000;
      box.value = current;
      box.setAttribute("aria-describedby", hint.id);
      var row = document.createElement("div");
      row.className = "row";
      var save = document.createElement("button");
      save.type = "submit";
      save.className = "button button--small";
      save.textContent = "Save";
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "button button--secondary button--small";
      cancel.textContent = "Cancel";
      row.appendChild(save);
      row.appendChild(cancel);
      [label, hint, problem, box, row].forEach(function (el) { editor.appendChild(el); });
      function close() {
        editor.remove();
        shown.hidden = false;
        var button = li.querySelector('button[data-action="edit"]');
        if (button) button.focus();
      }
      cancel.addEventListener("click", close);
      box.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
      editor.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = box.value;
        if (text === current) { close(); return; }
        function refuse(message) { problem.textContent = message; problem.hidden = false; box.focus(); }
        if (!text.trim()) { refuse("Write the message, or retract it instead"); return; }
        if (!socket.connected) { refuse("Not saved: not connected. Your text is kept; try again."); return; }
        save.disabled = true;
        socket.timeout(5000).emit("edit", { message_id: id, body: text }, function (err, answer) {
          save.disabled = false;
          if (err) { refuse("Not saved: the connection dropped. Your text is kept; try again."); return; }
          if (answer && answer.ok) { add(answer.message); close(); }
          else refuse((answer && answer.error && answer.error.message) || "Not saved.");
        });
      });
      shown.hidden = true;
      shown.parentNode.insertBefore(editor, shown.nextSibling);
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }

    if (earlier) {
      earlier.addEventListener("click", function () {
        var first = firstId();
        var ask = first ? { room_id: roomId, before: first, limit: 50 } : { room_id: roomId, limit: 50 };
        if (kindFilter) ask.kind = kindFilter;
        socket.emit("sync", ask, function (page) {
          if (!page || !page.items) return;
          prepend(page.items);
          if (!page.next) earlier.hidden = true;
        });
      });
    }
  });
})();
