/* levers browser tag (see tag/README.md): hides only marked elements, asks once per view which arm each shows,
   applies it, and reports exposures and conversions. no dependencies, no eval, no inline handlers. */
(function (w, d, S) {
  "use strict";
  if (w.__levers) return;
  w.__levers = 1;
  var C = w.leversConfig || {}, nav = w.navigator, loc = w.location, P = "levers_";
  var API = S.api + "/p/" + S.key, TIMEOUT = C.timeout || 1000, MODE = C.consent || "granted";
  var q = new URLSearchParams(loc.search), DEBUG = C.debug || q.get("levers_debug") === "1";
  // ?levers_edit (visual editor: control only) and ?levers_check (install check: decides, counts nothing) load
  // the separate editor script; the visitor tag itself stays small
  var ED = q.get("levers_edit"), CK = q.get("levers_check"), FORCE = CK ? {} : null, ua = nav.userAgent || "", RV = 0;
  // automation and crawlers see control and are never counted; tests opt in with leversConfig.allowAutomation
  var BOT = !!ED || /bot\b|bot\/|crawl|spider|slurp|mediapartners|facebookexternalhit|bingpreview|lighthouse|pingdom|gtmetrix|phantomjs/i.test(ua) ||
    (!C.allowAutomation && (nav.webdriver || /headless/i.test(ua)));
  var consent = MODE === "required" ? null : true, attrs = C.attributes || {};
  var live = {}, box = [], eids = {}, view = null, memId = "", lastUrl = "", sendingBox = [], grantedLate = 0;
  var LIVE = S.x || [], TG = S.s || {}, H = "{visibility:hidden;animation:levers-failsafe 0s 2s forwards}",
    HIDE = "[data-levers]" + H + "@keyframes levers-failsafe{to{visibility:visible}}[data-levers-shown]{visibility:visible;animation:none}";
  // experiments made in the visual editor name their element by a css selector: hidden like marked elements,
  // one rule each (zero specificity, so the reveal rule wins) so that one odd selector drops only its own rule
  for (var tk in TG) if (own(TG, tk)) HIDE += "\n:where(" + TG[tk] + ")" + H;

  (q.get("levers_force") || "").split(",").forEach(function (p) {
    var i = p.indexOf(":");
    if (i > 0) (FORCE = FORCE || {})[p.slice(0, i)] = p.slice(i + 1);
  });

  function log() {
    if (DEBUG) console.info.apply(console, ["[levers]"].concat([].map.call(arguments, function (a) {
      return typeof a === "object" ? JSON.stringify(a) : a;
    })));
  }
  function now() { return Date.now(); }
  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function rand() {
    var a = new Uint8Array(16), s = "";
    w.crypto.getRandomValues(a);
    for (var i = 0; i < 16; i++) s += (a[i] + 256).toString(16).slice(1);
    return s;
  }
  function stored() { return consent === true && MODE !== "cookieless"; }
  function counting() { return consent === true && !BOT && !FORCE; }
  function get(k) {
    try { return JSON.parse(localStorage.getItem(P + k)); } catch (e) { return null; }
  }
  function put(k, v) {
    if (stored()) try { localStorage.setItem(P + k, JSON.stringify(v)); } catch (e) { /* full or blocked */ }
  }
  function cookie(v, age) {
    d.cookie = P + "id=" + v + ";path=/;max-age=" + age + ";samesite=lax" + (loc.protocol === "https:" ? ";secure" : "");
  }
  function wipe() {
    try {
      for (var i = localStorage.length; i--;) {
        var k = localStorage.key(i);
        if (k && k.indexOf(P) === 0) localStorage.removeItem(k);
      }
    } catch (e) { /* storage blocked: nothing was stored */ }
    cookie("", 0);
    live = {}; box = []; eids = {}; memId = "";
  }
  function visitor() {
    if (!stored()) return memId || (memId = rand());
    var m = d.cookie.match(/(?:^|; )levers_id=(\w+)/), known = (m && m[1]) || get("id"), id = known || memId || rand();
    // first seen (unix seconds) tells new from returning visitors; an id stored before we kept it is returning
    if (!get("fs")) put("fs", known ? 1 : Math.round(now() / 1000));
    put("id", id);
    cookie(id, 34560000);
    return (memId = id);
  }
  function load() {
    if (!stored()) return;
    var t = now(), l = get("t") || {}, o = get("o") || [];
    for (var k in l) if (own(l, k) && l[k].x > t) live[k] = l[k];
    box = o.filter(function (e) { return e.x > t; });
    eids = get("d") || {};
  }
  function saveLive() { put("t", live); }
  function saveBox() { put("o", box.slice(-50)); }

  // transport: fetch keepalive while the page lives (its answer tells us whether to keep the events); sendBeacon
  // when the page goes away; anything unconfirmed stays in the outbox and is replayed on the next page or when
  // back online. the server de-duplicates, so a replay never counts twice.
  function queue(ev) {
    if (!counting()) return;
    ev.x = (live[ev.k2] || {}).x || now() + 864e5;
    box.push(ev);
    saveBox();
    setTimeout(flush, 0);
  }
  function wire(e) { return { k: e.k, t: e.t, g: e.g, r: e.r, v: e.v, d: e.d }; }
  function flush(exit) {
    if (!counting()) return;
    var batch = box.filter(function (e) { return sendingBox.indexOf(e) < 0; }).slice(0, 50);
    if (!batch.length) return;
    var body = JSON.stringify({ e: batch.map(wire) }), url = API + "/e";
    if (exit === true || !w.fetch) {
      // a beacon is trusted with fresh events; ones that already failed once stay for a replay (de-duplicated)
      if (nav.sendBeacon && nav.sendBeacon(url, body) && nav.onLine !== false) done(batch.filter(function (e) { return !e.f; }));
      return;
    }
    sendingBox = sendingBox.concat(batch);
    fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit" }).then(function (r) {
      if (r.status < 500 && r.status !== 429) done(batch); // 4xx: the events are invalid and never will be valid
      else throw r.status;
    })["catch"](function (e) {
      batch.forEach(function (e) { e.f = 1; });
      saveBox();
      log("send failed, kept in outbox", e);
    })["finally"](function () {
      sendingBox = sendingBox.filter(function (e) { return batch.indexOf(e) < 0; });
    });
  }
  function done(batch) {
    box = box.filter(function (e) { return batch.indexOf(e) < 0; });
    saveBox();
  }
  function leave() {
    // in-flight keepalive requests outlive the page just like beacons: trust them rather than replay them
    if (nav.onLine !== false) done(sendingBox.filter(function (e) { return !e.f; }));
    flush(true);
  }

  // anti-flicker: only marked elements are hidden, by css that reveals them by itself after 2 s
  function add(tag, p) {
    var s = d.createElement(tag), n = d.querySelector("[nonce]");
    if (n) s.nonce = n.nonce || n.getAttribute("nonce");
    for (var k in p) s[k] = p[k];
    (d.head || d.documentElement).appendChild(s);
  }
  function show(el) {
    if (!el.hasAttribute("data-levers-shown")) { el.setAttribute("data-levers-shown", ""); RV = RV || performance.now(); }
  }
  // elements a target selector matches are marked, and from then on follow the data-levers path
  function mark() {
    for (var k in TG) try {
      [].forEach.call(d.querySelectorAll(TG[k]), function (el) { if (!el.hasAttribute("data-levers")) el.setAttribute("data-levers", k); });
    } catch (e) { log("bad target", k, e); }
  }

  function safeUrl(v) {
    var u = new URL(v, loc.href);
    if (!/^(https?|mailto|tel):$/.test(u.protocol)) throw "unsafe url " + v;
    return u;
  }
  var OK_TAG = /^(a|abbr|b|br|code|del|div|em|h[1-6]|hr|i|img|ins|li|mark|ol|p|s|small|span|strong|sub|sup|u|ul)$/;
  var OK_ATTR = /^(alt|class|height|href|id|rel|src|target|title|width|aria-[\w-]+|data-[\w-]+)$/;
  function clean(html) {
    var t = d.createElement("template");
    t.innerHTML = html;
    (function walk(n) {
      for (var c = n.firstChild, next; c; c = next) {
        next = c.nextSibling;
        if (c.nodeType === 3) continue;
        var tag = c.nodeType === 1 && c.tagName.toLowerCase();
        if (!tag || /^(script|style|template|noscript|iframe|object|embed|svg|math|title|textarea|select)$/.test(tag)) {
          n.removeChild(c);
        } else if (!OK_TAG.test(tag)) {
          n.replaceChild(d.createTextNode(c.textContent), c);
        } else {
          for (var i = c.attributes.length; i--;) {
            var a = c.attributes[i], bad = !OK_ATTR.test(a.name);
            if (!bad && /^(href|src)$/.test(a.name)) try { safeUrl(a.value); } catch (e) { bad = 1; }
            if (bad) c.removeAttribute(a.name);
          }
          walk(c);
        }
      }
    })(t.content);
    return t.content;
  }
  function snap(el) {
    return [el, [].map.call(el.attributes, function (a) { return [a.name, a.value]; }), [].slice.call(el.childNodes)];
  }
  function restore(s) {
    var el = s[0], i;
    for (i = el.attributes.length; i--;) el.removeAttribute(el.attributes[i].name);
    for (i = 0; i < s[1].length; i++) el.setAttribute(s[1][i][0], s[1][i][1]);
    el.textContent = "";
    for (i = 0; i < s[2].length; i++) el.appendChild(s[2][i]);
  }
  function change(t, c) {
    var k, v;
    if (c.text != null) t.textContent = c.text;
    if (c.html != null) { t.textContent = ""; t.appendChild(clean(String(c.html))); }
    for (k in c.attributes || {}) {
      v = String(c.attributes[k]);
      if (/^on|^style$|^srcdoc$|^data-levers/i.test(k)) throw "attribute " + k + " is not allowed";
      if (/^(href|src|action|formaction)$/i.test(k)) safeUrl(v);
      t.setAttribute(k, v);
    }
    String(c["class"] || "").split(/\s+/).forEach(function (n) {
      if (n) n.charAt(0) === "-" ? t.classList.remove(n.slice(1)) : t.classList.add(n);
    });
    for (k in c.style || {}) {
      var p = k.replace(/[A-Z]/g, function (m) { return "-" + m.toLowerCase(); });
      v = String(c.style[k]);
      t.style.setProperty(p, v.replace(/\s*!important$/, ""), /!important$/.test(v) ? "important" : "");
      if (v && !t.style.getPropertyValue(p)) throw "bad style " + k + ": " + v;
    }
    if (c.hide) t.style.setProperty("display", "none", "important");
  }
  // applies a decision to one marked element; any error restores the element exactly (control is shown)
  function apply(el, dec) {
    var c = dec.c || {}, targets, saved = [];
    try {
      targets = c.selector ? el.querySelectorAll(c.selector) : [el];
      if (!targets.length) throw "selector " + c.selector + " matches nothing";
      for (var i = 0; i < targets.length; i++) { saved.push(snap(targets[i])); change(targets[i], c); }
      el.setAttribute("data-levers-arm", dec.n);
    } catch (e) {
      for (var j = saved.length; j--;) restore(saved[j]);
      dec.bad = 1;
      el.setAttribute("data-levers-error", "");
      log("change failed, control shown", dec.x, e);
    }
    el.__lv = dec;
    el.__lh = el.innerHTML;
  }
  function redirect(dec) {
    var u = safeUrl(dec.c.redirect), ss = w.sessionStorage, last = +(ss && ss.getItem(P + "rd")) || 0;
    q.forEach(function (v, k) { if (!u.searchParams.has(k)) u.searchParams.set(k, v); });
    // loop guard: never to the page we are on, and at most one redirect per tab every 10 s
    if (u.href.split("#")[0] === loc.href.split("#")[0] || now() - last < 1e4) return false;
    try { ss.setItem(P + "rd", now()); } catch (e) { /* no guard storage: the same-page check still holds */ }
    expose(dec, null);
    leave();
    log("redirect", u.href);
    loc.replace(u.href);
    return true;
  }

  function expose(dec, el) {
    // the server hands a token only for traffic it counts; and only what the visitor really has on the page is
    // counted: connected and rendered (not display:none)
    if (!dec.t || dec.bad || view.seen[dec.x] || (el && !(el.isConnected && (el.getClientRects().length || dec.c.hide)))) return;
    view.seen[dec.x] = 1;
    if (!counting()) return;
    live[dec.x] = { t: dec.t, g: dec.g || {}, r: dec.gr || [], x: now() + dec.e * 1000 };
    saveLive();
    log("exposure", dec.x, dec.n);
    queue({ k: "x", t: dec.t, k2: dec.x });
  }
  function render() {
    var els = d.querySelectorAll("[data-levers]");
    for (var i = 0; i < els.length && !view.gone; i++) {
      var el = els[i], k = el.getAttribute("data-levers"), dec = view.dec[k];
      if (view.wait[k]) continue;
      if (dec) {
        if (dec.c && dec.c.redirect && !dec.bad) {
          try { if (redirect(dec)) { view.gone = 1; return; } } catch (e) { log("bad redirect", e); }
          dec.bad = 1; // guarded or broken: this page stays as it is and counts nothing
        } else if ((el.__lv !== dec || el.__lh !== el.innerHTML) && (!view.done[k] || view.fix++ < 20)) {
          view.done[k] = 1; // the first application is free; re-applications after re-renders are capped
          apply(el, dec);
        }
        expose(dec, el);
      }
      show(el);
    }
  }
  function decide(keys) {
    var v = view, s = {}, late = 0, timer;
    keys.forEach(function (k) { v.wait[k] = 1; if (live[k]) s[k] = live[k].t; });
    function end(list) {
      keys.forEach(function (k) { delete v.wait[k]; v.dec[k] = null; });
      (list || []).forEach(function (dec) { v.dec[dec.x] = dec; });
      log("decisions", list || "none: control");
      if (v === view) render();
    }
    // the initial wait never outlasts the css failsafe (2 s after navigation start)
    timer = setTimeout(function () { late = 1; end(); }, v.first && !grantedLate ? Math.max(0, Math.min(TIMEOUT, 1900 - performance.now())) : TIMEOUT);
    fetch(API + "/d", {
      method: "POST", credentials: "omit",
      body: JSON.stringify({ v: visitor(), x: keys, u: loc.href, r: d.referrer, l: nav.language || "", a: attrs, s: s, f: FORCE || {}, n: (stored() && get("fs")) || 0 })
    }).then(function (r) { return r.ok ? r.json() : { d: [] }; }).then(function (res) {
      if (late) return log("decision too late: control kept, nothing recorded");
      clearTimeout(timer);
      end(res.d);
    })["catch"](function (e) {
      if (!late) { clearTimeout(timer); log("decision failed", e); end(); }
    });
  }
  function scan() {
    if (!view || view.gone) return;
    mark();
    var els = d.querySelectorAll("[data-levers]"), keys = [];
    for (var i = 0; i < els.length; i++) {
      var k = els[i].getAttribute("data-levers");
      if (!BOT && consent === true && LIVE.indexOf(k) >= 0 && !(k in view.dec) && !view.wait[k] && keys.indexOf(k) < 0) keys.push(k);
    }
    if (keys.length && view.n++ < 5) decide(keys);
    render();
  }
  function start() {
    view = { dec: {}, seen: {}, wait: {}, done: {}, fix: 0, n: 0, first: !view };
    lastUrl = loc.href.split("#")[0];
    if (counting()) {
      for (var k in live) {
        var g = live[k].g;
        if (own(live, k) && g.type === "url" && !live[k].u && urlMatch(g)) {
          live[k].u = 1;
          send(k, g.value, {});
        }
      }
      saveLive();
    }
    scan();
  }
  function urlMatch(g) {
    var here = loc.pathname + loc.search;
    if (g.match === "exact") return here === g.value || loc.href === g.value;
    if (g.match === "regex") try { return new RegExp(g.value).test(loc.href); } catch (e) { return false; }
    return loc.href.indexOf(g.value) >= 0;
  }

  // conversions: every live selection token whose goal this signal matches
  function send(k, name, o) {
    var ev = { k: "c", t: live[k].t, g: String(name), r: 1, k2: k };
    if (o.value != null && isFinite(+o.value)) ev.v = +o.value;
    if (o.eid != null) ev.d = String(o.eid);
    queue(ev);
  }
  function convert(name, o, from) {
    o = o || {};
    if (!counting()) return;
    var hits = [];
    for (var k in live) {
      var g = live[k].g;
      // its goal, or one of its guardrail goals (any source)
      if (own(live, k) && ((g.type ? g.type !== "url" && g.value === name && (from === "api" || from === g.type) : from !== "event") || (live[k].r || []).indexOf(name) >= 0)) hits.push(k);
    }
    // an id counts once: only a conversion that was actually sent uses it up
    if (!hits.length || (o.eid != null && eids[o.eid])) return log("no conversion for", name, o.eid || "");
    if (o.eid != null) {
      eids[o.eid] = now();
      put("d", eids);
    }
    hits.forEach(function (k) {
      log("conversion", name, k);
      send(k, name, o);
    });
  }
  function setConsent(ok) {
    if (MODE === "cookieless" || consent === ok) return;
    consent = ok;
    log("consent", ok);
    if (!ok) return wipe();
    load();
    if (view) { grantedLate = 1; scan(); flush(); }
  }
  function watchLayer(dl) {
    var key = C.consentKey || "analytics_storage";
    function seen(it) {
      if (!it || typeof it !== "object") return;
      if (it[0] === "consent" && it[2] && it[2][key]) setConsent(it[2][key] === "granted");
      else if (typeof it.event === "string" && !/^gtm\./.test(it.event)) {
        var e = it.ecommerce || {};
        convert(it.event, { value: it.value != null ? it.value : e.value, eid: it.eid || it.transaction_id || e.transaction_id }, "event");
      }
    }
    dl.forEach(seen);
    var push = dl.push;
    dl.push = function () {
      for (var i = 0; i < arguments.length; i++) try { seen(arguments[i]); } catch (e) { log(e); }
      return push.apply(dl, arguments);
    };
  }

  var api = function (cmd, a, b) {
    if (cmd === "convert") convert(a, b, "api");
    else if (cmd === "consent") setConsent(a === true || a === "granted");
    else if (cmd === "attributes") for (var k in a) attrs[k] = a[k];
    else if (cmd === "refresh") start();
  };
  var queued = (w.levers && w.levers.q) || [];
  w.levers = api;
  add("style", { textContent: HIDE });
  if (ED || CK) {
    // what the editor and the install check read and reuse: the same change code previews exactly what visitors get
    w.__levers = { S: S, ch: change, sn: snap, rs: restore, st: function () { return { c: consent, m: MODE, b: BOT, r: RV, v: view }; } };
    add("script", { src: S.api + "/t/editor.js", async: true });
  }
  if (BOT) log("automation or crawler: control only, nothing counted");
  var dl = w[C.dataLayer || "dataLayer"];
  if (dl && dl.push) watchLayer(dl);
  load();
  for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
  d.addEventListener("click", function (e) {
    var t = e.target, g = t.closest && t.closest("[data-levers-goal]"), names = [];
    if (g) convert(g.getAttribute("data-levers-goal"), { value: g.getAttribute("data-levers-value") }, "click");
    // goals defined by a css selector need no markup
    for (var k in live) {
      var s = own(live, k) && live[k].g.selector;
      try { if (s && names.indexOf(s) < 0 && t.closest(s)) names.push(s); } catch (x) { /* bad selector */ }
    }
    names.forEach(function (n) { convert(n, {}, "click"); });
  }, true);
  w.addEventListener("pagehide", leave);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") leave(); });
  w.addEventListener("online", flush);
  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () {
      var r = orig.apply(this, arguments);
      setTimeout(route, 0);
      return r;
    };
  });
  function route() { if (loc.href.split("#")[0] !== lastUrl) { log("new view", loc.href); start(); } }
  w.addEventListener("popstate", route);
  function boot() {
    start();
    flush();
    var pending = 0;
    // frameworks re-render: marked elements that appear or lose their change are handled again (capped per view)
    new MutationObserver(function () {
      if (!pending) pending = setTimeout(function () { pending = 0; scan(); }, 0);
    }).observe(d.documentElement, { childList: true, subtree: true, characterData: true });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", boot); else boot();
})(window, document, __LEVERS_CONFIG__);
