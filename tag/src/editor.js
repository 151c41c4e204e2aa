/* levers visual editor and install check (tag/README.md). loaded by the tag only when the page was opened with
   ?levers_edit=<single-use token> or ?levers_check=<token>; never part of what visitors download. it reuses the
   tag's own change code (window.__levers.ch), so a preview is exactly what visitors will get. */
(function (w, d) {
  "use strict";
  var L = w.__levers;
  if (!L || !L.S || L.ui) return;
  L.ui = 1;
  var S = L.S, API = S.api + "/p/" + S.key, q = new URLSearchParams(w.location.search), SS = "levers_edit_s";

  function post(path, body) {
    return fetch(API + path, { method: "POST", credentials: "omit", body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; return j; }, function () { throw { detail: "HTTP " + r.status }; });
    });
  }
  function problem(e) {
    var first = e && e.errors && e.errors[0];
    return first ? first.field + ": " + first.message : (e && e.detail) || String(e && e.message || e);
  }
  function dropParam(name, keep) {
    var u = new URL(w.location.href);
    if (keep) u.searchParams.set(name, keep); else u.searchParams["delete"](name);
    history.replaceState(history.state, "", u.href);
  }
  function nonce() {
    var n = d.querySelector("[nonce]");
    return n ? n.nonce || n.getAttribute("nonce") : "";
  }
  function h(tag, attrs, kids) {
    var el = d.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { el.appendChild(typeof c === "string" ? d.createTextNode(c) : c); });
    return el;
  }
  var CSS_TEXT = ":host{all:initial}*{box-sizing:border-box;font:13px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328}" +
    ".panel{position:fixed;right:12px;bottom:12px;width:340px;max-width:calc(100vw - 24px);max-height:calc(100vh - 24px);overflow:auto;" +
    "background:#fff;border:1px solid #8c959f;border-radius:8px;box-shadow:0 8px 24px rgba(0,0,0,.25);padding:12px;z-index:2147483647}" +
    "h2{font-size:14px;font-weight:700;margin:0 0 8px}h3{font-size:12px;font-weight:700;text-transform:uppercase;color:#57606a;margin:12px 0 4px}" +
    "label{display:block;margin:6px 0 2px;font-weight:600}input,textarea,select{width:100%;border:1px solid #6e7781;border-radius:4px;padding:4px 6px;background:#fff}" +
    "input[type=checkbox],input[type=radio]{width:auto;margin-right:4px}.row{display:flex;gap:6px;align-items:center;flex-wrap:wrap}" +
    "button{border:1px solid #6e7781;background:#f6f8fa;border-radius:4px;padding:4px 10px;cursor:pointer;margin-top:6px}" +
    "button.primary{background:#0969da;border-color:#0969da;color:#fff}button:focus-visible,input:focus-visible,textarea:focus-visible,select:focus-visible{outline:2px solid #0969da;outline-offset:1px}" +
    ".warn{color:#a40e26;font-weight:600}.ok{color:#116329}.msg{margin-top:8px;min-height:1.2em}code{font-family:ui-monospace,monospace;font-size:12px}" +
    ".box{position:fixed;pointer-events:none;border:2px solid #0969da;background:rgba(9,105,218,.12);z-index:2147483646;display:none}";

  function shadow(id) {
    var host = h("div", { id: id });
    var root = host.attachShadow({ mode: "open" });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var st = h("style", { text: CSS_TEXT });
      if (nonce()) st.nonce = nonce();
      root.appendChild(st);
    }
    d.body.appendChild(host);
    return { host: host, root: root };
  }

  // ---- install check: what the tag saw on this page, reported to the site page in levers ----
  function check(token) {
    dropParam("levers_check");
    var started = Date.now();
    (function wait() {
      var st = L.st(), v = st.v || { dec: {}, wait: {} }, marked = [], decided = [];
      [].forEach.call(d.querySelectorAll("[data-levers]"), function (el) {
        var k = el.getAttribute("data-levers");
        if (marked.indexOf(k) < 0) marked.push(k);
      });
      for (var k in v.dec) if (v.dec[k]) decided.push(k);
      var pending = Object.keys(v.wait).length > 0 || (marked.length && !st.r);
      if (pending && Date.now() - started < 4000) return setTimeout(wait, 100);
      var report = {
        token: token, url: w.location.href, marked: marked.slice(0, 100), decided: decided.slice(0, 100),
        consent: st.c === true ? "granted" : st.c === false ? "denied" : "waiting", mode: String(st.m || ""),
        reveal_ms: st.r ? Math.round(st.r) : null, automation: !!st.b
      };
      var ui = shadow("levers-check"), panel = h("div", { "class": "panel", role: "status", "aria-live": "polite" });
      panel.appendChild(h("h2", { text: "Levers install check" }));
      var msg = h("p", { "class": "msg", id: "lv-check-msg", text: "Sending what the tag saw on this page…" });
      panel.appendChild(msg);
      ui.root.appendChild(panel);
      post("/check", report).then(function () {
        msg.textContent = "Done: the results are on the Sites page in Levers. You can close this tab.";
        msg.className = "msg ok";
      }, function (e) {
        msg.textContent = "The check could not be sent: " + problem(e);
        msg.className = "msg warn";
      });
    })();
  }

  // ---- selectors: ids, then stable attributes, then a short path ----
  var ATTRS = ["data-testid", "data-test", "data-qa", "data-cy", "data-id", "name", "aria-label", "title", "alt", "for", "href"];
  function count(sel) {
    try { return d.querySelectorAll(sel).length; } catch (e) { return -1; }
  }
  function stableId(id) {
    return !!id && /^[A-Za-z][\w-]*$/.test(id) && !/\d{3,}|^(ember|react|radix|mui|headlessui|ng-|__)/i.test(id);
  }
  function stableClass(c) {
    return /^[A-Za-z][\w-]{1,40}$/.test(c) && !/\d{3,}|^(css|sc|jsx|svelte|emotion)-|^(is|has)-|active|hover|focus|open|selected|levers/i.test(c);
  }
  function quoteValue(v) {
    return '"' + v.replace(/["\\]/g, "\\$&") + '"';
  }
  function selectorFor(el) {
    if (stableId(el.id) && count("#" + CSS.escape(el.id)) === 1) return "#" + CSS.escape(el.id);
    var tag = el.tagName.toLowerCase(), i, sel;
    for (i = 0; i < ATTRS.length; i++) {
      var v = el.getAttribute(ATTRS[i]);
      if (v && v.length <= 80 && !/[{};@<>\n\r]/.test(v)) {
        sel = tag + "[" + ATTRS[i] + "=" + quoteValue(v) + "]";
        if (count(sel) === 1) return sel;
      }
    }
    var path = [], cur = el;
    while (cur && cur.nodeType === 1 && cur !== d.documentElement && path.length < 6) {
      if (cur !== el && stableId(cur.id) && count("#" + CSS.escape(cur.id)) === 1) {
        path.unshift("#" + CSS.escape(cur.id));
        sel = path.join(" > ");
        if (count(sel) === 1) return sel;
        break;
      }
      var seg = cur.tagName.toLowerCase(), classes = [].filter.call(cur.classList, stableClass).slice(0, 2), parent = cur.parentElement;
      if (classes.length) seg += "." + classes.map(function (c) { return CSS.escape(c); }).join(".");
      if (parent) {
        var alike = [].filter.call(parent.children, function (c) { return c.matches(seg); });
        if (alike.length > 1) {
          var same = [].filter.call(parent.children, function (c) { return c.tagName === cur.tagName; });
          seg += ":nth-of-type(" + (same.indexOf(cur) + 1) + ")";
        }
      }
      path.unshift(seg);
      sel = path.join(" > ");
      if (count(sel) === 1) return sel;
      cur = parent;
    }
    return path.join(" > ");
  }

  // ---- the editor ----
  function lines(text, sep) {
    var out = {}, any = 0;
    String(text || "").split("\n").forEach(function (line) {
      var i = line.indexOf(sep);
      if (i > 0) { out[line.slice(0, i).trim()] = line.slice(i + 1).trim(); any = 1; }
    });
    return any ? out : null;
  }
  function unlines(obj, sep) {
    return Object.keys(obj || {}).map(function (k) { return k + sep + obj[k]; }).join("\n");
  }

  function edit(param) {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(SS)); } catch (e) { saved = null; }
    var ui = shadow("levers-editor"), panel = h("div", { "class": "panel", role: "dialog", "aria-label": "Levers visual editor" });
    ui.root.appendChild(panel);
    var msg = h("p", { "class": "msg", id: "lv-msg", role: "status", "aria-live": "polite", text: "Opening the editor…" });
    panel.appendChild(msg);
    function say(text, bad) { msg.textContent = text; msg.className = "msg " + (bad ? "warn" : "ok"); }
    var opening;
    if (param && param !== "1") {
      opening = post("/edit/open", { token: param }).then(function (r) {
        saved = { s: r.session, x: Date.now() + r.expires_in * 1000, e: r.experiment };
        try { sessionStorage.setItem(SS, JSON.stringify(saved)); } catch (e) { /* the editor works without it until a reload */ }
        dropParam("levers_edit", "1"); // the token is used up: a reload keeps the session, not the token
        return saved;
      });
    } else if (saved && saved.x > Date.now()) {
      opening = Promise.resolve(saved);
    } else {
      opening = Promise.reject({ detail: "this editor link was used or has expired: open the editor again from the experiment's page in Levers" });
    }
    opening.then(function (s) { build(ui, panel, say, s); }, function (e) { say(problem(e), true); });
  }

  function build(ui, panel, say, sess) {
    var exp = sess.e, arms = exp.arms.map(function (a) { return JSON.parse(JSON.stringify(a.payload || {})); });
    var current = 0, snaps = [], picking = null, box = h("div", { "class": "box" });
    ui.root.appendChild(box);
    panel.insertBefore(h("h2", { text: "Levers editor · " + exp.name }), panel.firstChild);

    function field(id, label, type, extra) {
      var input = type === "textarea" ? h("textarea", { id: id, rows: "2" }) : h("input", { id: id, type: type || "text" });
      for (var k in extra || {}) input.setAttribute(k, extra[k]);
      return [h("label", { "for": id, text: label }), input];
    }
    function add(nodes) { nodes.forEach(function (n) { panel.appendChild(n); }); }
    function $(id) { return ui.root.getElementById(id); }

    add([h("h3", { text: "1. Element" })]);
    add([h("div", { "class": "row" }, [h("button", { type: "button", id: "lv-pick", text: "Pick an element" })])]);
    add(field("lv-selector", "CSS selector", "text", { spellcheck: "false" }));
    add([h("p", { id: "lv-count", "aria-live": "polite" })]);

    add([h("h3", { text: "2. What each arm shows" })]);
    var select = h("select", { id: "lv-arm" });
    exp.arms.forEach(function (a, i) { select.appendChild(h("option", { value: String(i), text: a.name + (i === 0 ? " (control: leave empty)" : "") })); });
    add([h("label", { "for": "lv-arm", text: "Arm" }), select]);
    add(field("lv-text", "Text", "textarea"));
    add(field("lv-html", "HTML (sanitised: no scripts)", "textarea"));
    add(field("lv-attrs", "Attributes (one name=value a line)", "textarea"));
    add(field("lv-class", "Classes (add; -name removes)"));
    add(field("lv-style", "Inline style (one property: value a line)", "textarea"));
    var hide = h("input", { id: "lv-hide", type: "checkbox" });
    add([h("div", { "class": "row" }, [hide, h("label", { "for": "lv-hide", text: "Hide the element" })])]);
    add(field("lv-redirect", "Or redirect to (URL)", "url"));
    add([h("button", { type: "button", id: "lv-preview", text: "Preview this arm" })]);

    add([h("h3", { text: "3. Goal" })]);
    var goals = h("div", { role: "radiogroup", "aria-label": "Goal" });
    [["none", "Any conversion call"], ["click", "A click on an element"], ["url", "A visit to a page whose URL contains"]].forEach(function (g) {
      goals.appendChild(h("div", { "class": "row" }, [h("input", { type: "radio", name: "lv-goal", id: "lv-goal-" + g[0], value: g[0] }), h("label", { "for": "lv-goal-" + g[0], text: g[1] })]));
    });
    add([goals]);
    add(field("lv-goal-selector", "Clicked element (CSS selector)"));
    add([h("button", { type: "button", id: "lv-pick-goal", text: "Pick the goal element" })]);
    add(field("lv-goal-url", "Page URL contains"));
    add([h("button", { type: "button", "class": "primary", id: "lv-save", text: "Save" })]);
    panel.appendChild(panel.querySelector(".msg"));

    var g = exp.goal || {};
    $("lv-goal-" + (g.type === "click" || g.type === "url" ? g.type : "none")).checked = true;
    if (g.type === "click") $("lv-goal-selector").value = g.selector || g.value || "";
    if (g.type === "url") $("lv-goal-url").value = g.url || g.value || "";
    $("lv-selector").value = exp.target || "";

    function load(i) {
      var p = arms[i];
      $("lv-text").value = p.text || "";
      $("lv-html").value = p.html || "";
      $("lv-attrs").value = unlines(p.attributes, "=");
      $("lv-class").value = p["class"] || "";
      $("lv-style").value = unlines(p.style, ": ");
      hide.checked = !!p.hide;
      $("lv-redirect").value = p.redirect || "";
    }
    function store(i) {
      var p = {}, v;
      if ((v = $("lv-text").value)) p.text = v;
      if ((v = $("lv-html").value)) p.html = v;
      if ((v = lines($("lv-attrs").value, "="))) p.attributes = v;
      if ((v = $("lv-class").value.trim())) p["class"] = v;
      if ((v = lines($("lv-style").value, ":"))) p.style = v;
      if (hide.checked) p.hide = true;
      if ((v = $("lv-redirect").value.trim())) p.redirect = v;
      if (arms[i].selector) p.selector = arms[i].selector;
      arms[i] = p;
    }
    function restore() {
      for (var i = snaps.length; i--;) L.rs(snaps[i]);
      snaps = [];
    }
    function matches() {
      var sel = $("lv-selector").value.trim(), n = sel ? count(sel) : 0, out = $("lv-count");
      out.textContent = n < 0 ? "⚠ not a valid CSS selector" : n === 1 ? "✓ matches 1 element" :
        "⚠ matches " + n + " elements: " + (n ? "every one of them will change" : "nothing will change on this page");
      out.className = n === 1 ? "ok" : "warn";
      return n > 0 ? d.querySelectorAll(sel) : [];
    }
    function preview() {
      store(current);
      restore();
      var els = matches(), p = arms[current];
      if (p.redirect) return say("This arm redirects to " + p.redirect + " (not followed in the editor).");
      try {
        for (var i = 0; i < els.length; i++) { snaps.push(L.sn(els[i])); L.ch(els[i], p); }
        say("Previewing " + exp.arms[current].name + ".");
      } catch (e) {
        restore();
        say("This change fails on this page and visitors would see the control: " + e, true);
      }
    }
    function pick(done) {
      restore();
      picking = done;
      say("Click the element on the page (Esc cancels).");
    }
    function inside(t) { return t === ui.host || (ui.host.contains && ui.host.contains(t)); }
    d.addEventListener("mousemove", function (e) {
      if (!picking || inside(e.target)) { box.style.display = "none"; return; }
      var r = e.target.getBoundingClientRect();
      box.style.display = "block";
      box.style.left = r.left + "px"; box.style.top = r.top + "px";
      box.style.width = r.width + "px"; box.style.height = r.height + "px";
    }, true);
    d.addEventListener("click", function (e) {
      if (!picking || inside(e.target)) return;
      e.preventDefault();
      e.stopPropagation();
      var done = picking;
      picking = null;
      box.style.display = "none";
      done(e.target);
    }, true);
    d.addEventListener("keydown", function (e) {
      if (picking && e.key === "Escape") { picking = null; box.style.display = "none"; say("Picking cancelled."); }
    }, true);

    $("lv-pick").addEventListener("click", function () {
      pick(function (el) {
        $("lv-selector").value = selectorFor(el);
        preview();
      });
    });
    $("lv-pick-goal").addEventListener("click", function () {
      pick(function (el) {
        $("lv-goal-selector").value = selectorFor(el);
        $("lv-goal-click").checked = true;
        say("Goal: a click on " + $("lv-goal-selector").value);
        preview();
      });
    });
    $("lv-selector").addEventListener("input", matches);
    select.addEventListener("change", function () {
      store(current);
      current = +select.value;
      load(current);
      preview();
    });
    $("lv-preview").addEventListener("click", preview);
    $("lv-save").addEventListener("click", function () {
      store(current);
      var kind = (ui.root.querySelector("input[name=lv-goal]:checked") || {}).value, goal = {};
      if (kind === "click") goal = { type: "click", selector: $("lv-goal-selector").value.trim() };
      if (kind === "url") goal = { type: "url", url: $("lv-goal-url").value.trim() };
      say("Saving…");
      post("/edit/save", { session: sess.s, target: $("lv-selector").value.trim(), arms: arms.map(function (p) { return { payload: p }; }), goal: goal }).then(function () {
        say("Saved. Visitors get the new arms within a minute.");
      }, function (e) { say("Not saved: " + problem(e), true); });
    });
    load(0);
    matches();
    say("Pick the element to change, then set what each arm shows.");
  }

  var checkToken = q.get("levers_check"), editParam = q.get("levers_edit");
  function go() { if (checkToken) check(checkToken); else if (editParam) edit(editParam); }
  if (d.body) go(); else d.addEventListener("DOMContentLoaded", go);
})(window, document);
