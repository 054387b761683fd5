/* Daily figures on a bad connection (README "On the phone").

   A form with data-offline-key (templates/partials/_entry_grid.html: the daily figures of a
   prefecture or a county; the key names the user, the owner and the date) is sent with
   fetch instead of the browser's own post. Before it is sent, what was typed is copied into
   localStorage under that key. Then:
   - the server saved it (204 with the grid's address, supplycoord.bulk.entry_grid_post):
     the copy is dropped and the grid opens again with the server's "saved" message;
   - the session had ended (redirected to the log-in page): the log-in page opens, the copy
     stays;
   - the server answered with the page itself (a wrong figure, a refusal; nothing saved): the
     form is posted again the ordinary way so the page shows each error at its field (a
     refused post saved nothing: posting it twice is harmless);
   - the network failed, the server did not answer in time, or answered 5xx: the copy stays
     and a banner says "not sent — resend" with a resend button.
   When the grid opens and a copy is kept for it whose figures differ from the page's, the
   copy is put back into the inputs with the same banner (a reload, a phone that closed the
   tab, a log-in after the session ended); a copy the page already shows is dropped. A
   resend is the same post again: the server saves figures by their natural key (owner,
   item, date), so it never doubles a figure. Copies older than MAX_AGE_DAYS are dropped.
   Without fetch or localStorage (or without this script) the form posts the ordinary way. */
(function () {
  "use strict";

  var PREFIX = "supplycoord:entry:";
  var MAX_AGE_DAYS = 7; // an officer may enter up to 7 days back (OFFICER_BACKDATE_DAYS)
  var TIMEOUT_MS = 45000; // a post that has not answered by then counts as failed

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode, storage full or disabled: the ordinary post
    }
  }

  var store = storage();
  if (!store || !window.fetch || !window.FormData) return;

  // What a person typed, comparable with what the server shows: full-width digits (a
  // Chinese IME) as ASCII, without separators and spaces (the server reads 1,200 as 1200).
  function normal(value) {
    return String(value == null ? "" : value)
      .replace(/[\uff10-\uff19]/g, function (c) {
        return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
      })
      .replace(/[,\uff0c\s]/g, "")
      .replace(/^0+(?=\d)/, "");
  }

  function typedFields(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if (el.type === "hidden" || el.type === "submit" || el.type === "button") return;
      values[el.name] = el.value;
    });
    return values;
  }

  function read(key) {
    var raw = store.getItem(PREFIX + key);
    if (!raw) return null;
    try {
      var copy = JSON.parse(raw);
      if (copy && copy.values && typeof copy.savedAt === "number") return copy;
    } catch (e) {
      /* a broken copy is dropped below */
    }
    store.removeItem(PREFIX + key);
    return null;
  }

  function keep(form, key) {
    var copy = {
      savedAt: Date.now(),
      url: savedUrl(form),
      date: (form.elements.date && form.elements.date.value) || "",
      values: typedFields(form),
    };
    try {
      store.setItem(PREFIX + key, JSON.stringify(copy));
    } catch (e) {
      return null;
    }
    return copy;
  }

  function drop(key) {
    store.removeItem(PREFIX + key);
  }

  function dropExpired() {
    var limit = Date.now() - MAX_AGE_DAYS * 24 * 3600 * 1000;
    for (var i = store.length - 1; i >= 0; i--) {
      var name = store.key(i);
      if (!name || name.indexOf(PREFIX) !== 0) continue;
      var copy = read(name.slice(PREFIX.length));
      if (copy && copy.savedAt < limit) store.removeItem(name);
    }
  }

  // Whether the page shows the figures that were kept (the reason of a past date's
  // correction is not shown again after a save, so only the figures count).
  function sameAsPage(form, copy) {
    return Object.keys(copy.values).every(function (name) {
      var el = form.elements[name];
      if (!el || el.getAttribute("inputmode") !== "numeric") return true;
      return normal(el.value) === normal(copy.values[name]);
    });
  }

  function putBack(form, copy) {
    Object.keys(copy.values).forEach(function (name) {
      var el = form.elements[name];
      if (el && typeof el.value === "string") el.value = copy.values[name];
    });
  }

  // The grid's own address after a save (the server's redirect): the form's path with its
  // hidden fields (date, and the prefecture or county the office chose).
  function savedUrl(form) {
    var url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    var query = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "hidden" && el.name && el.name !== "csrfmiddlewaretoken") {
        query.append(el.name, el.value);
      }
    });
    return url.pathname + "?" + query.toString();
  }

  function banner(form) {
    return document.getElementById(form.id + "-offline");
  }

  function showBanner(form, copy, restored) {
    var box = banner(form);
    if (!box) return;
    box.querySelector(".offline-failed").hidden = restored;
    box.querySelector(".offline-restored").hidden = !restored;
    var time = box.querySelector(".offline-kept-at time");
    var at = new Date(copy.savedAt);
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleString([], {
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    box.hidden = false;
    form.classList.add("offline-unsent");
    if (!restored) box.scrollIntoView({ block: "nearest" });
  }

  function hideBanner(form) {
    var box = banner(form);
    if (box) box.hidden = true;
    form.classList.remove("offline-unsent");
  }

  function setBusy(form, busy) {
    var box = banner(form);
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button[type=submit]"));
    if (box) buttons = buttons.concat(Array.prototype.slice.call(box.querySelectorAll("button")));
    buttons.forEach(function (button) {
      if (busy) {
        button.dataset.label = button.dataset.label || button.textContent;
        if (button.type === "submit" || button.classList.contains("offline-resend")) {
          button.textContent = (box && box.dataset.sending) || button.textContent;
        }
      } else if (button.dataset.label) {
        button.textContent = button.dataset.label;
      }
      button.disabled = busy;
    });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function send(form, key) {
    if (form.dataset.sending === "1") return;
    var copy = keep(form, key);
    if (!copy) {
      HTMLFormElement.prototype.submit.call(form); // storage full: the ordinary post
      return;
    }
    form.dataset.sending = "1";
    setBusy(form, true);
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, TIMEOUT_MS)
      : null;

    function failed() {
      form.dataset.sending = "";
      setBusy(form, false);
      showBanner(form, copy, false);
    }

    window
      .fetch(form.getAttribute("action") || window.location.href, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Entry-Grid": "fetch" },
        signal: controller ? controller.signal : undefined,
      })
      .then(function (response) {
        if (timer) window.clearTimeout(timer);
        if (response.status === 204) {
          // Saved (supplycoord.bulk.entry_grid_post): the copy goes, the grid opens again
          // with the server's "saved" message.
          drop(key);
          window.location.assign(response.headers.get("X-Entry-Saved") || copy.url);
          return;
        }
        if (response.redirected) {
          // The session ended: the log-in page. The copy stays; once logged in, the grid
          // shows it again with a resend.
          window.location.assign(response.url);
          return;
        }
        if (response.status >= 500) {
          failed();
          return;
        }
        // The server refused the figures and saved nothing: the ordinary post shows why, each
        // error at its field (posting a refused grid twice is harmless).
        hideBanner(form);
        HTMLFormElement.prototype.submit.call(form);
      })
      .catch(function () {
        if (timer) window.clearTimeout(timer);
        failed();
      });
  }

  function otherDates(form, key) {
    var box = document.getElementById(form.id + "-elsewhere");
    if (!box) return;
    var owner = key.slice(0, key.lastIndexOf(":") + 1);
    var links = [];
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (!name || name.indexOf(PREFIX + owner) !== 0 || name === PREFIX + key) continue;
      var copy = read(name.slice(PREFIX.length));
      if (copy && copy.url) links.push(copy);
    }
    links.sort(function (a, b) {
      return a.date < b.date ? -1 : 1;
    });
    links.forEach(function (copy) {
      var p = document.createElement("p");
      var a = document.createElement("a");
      a.href = copy.url;
      a.textContent = box.dataset.message.replace("%(date)s", copy.date);
      p.appendChild(a);
      box.appendChild(p);
    });
    box.hidden = links.length === 0;
  }

  function setUp(form) {
    var key = form.dataset.offlineKey;
    var copy = read(key);
    if (copy) {
      if (sameAsPage(form, copy)) {
        drop(key); // the page shows what was kept: saved, or the server's errors on it
      } else {
        putBack(form, copy);
        showBanner(form, copy, true);
      }
    }
    otherDates(form, key);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(form, key);
    });
    var box = banner(form);
    if (!box) return;
    box.querySelector(".offline-resend").addEventListener("click", function () {
      send(form, key);
    });
    box.querySelector(".offline-discard").addEventListener("click", function () {
      drop(key);
      window.location.reload();
    });
  }

  dropExpired();
  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-key]"), setUp);
})();
