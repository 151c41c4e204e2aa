/* results page: keeps the numbers fresh without getting in the way.
   - polls the fragment every few seconds with If-None-Match: unchanged, the server answers 304 with no body;
   - swaps only the [data-live] parts whose html changed, so focus, scroll and open panels elsewhere stay put,
     and puts focus back on the same control when the part holding it was swapped;
   - says a changed recommendation once, through a polite live region (the swapped parts are not live regions);
   - pauses while the tab is hidden, while a field in the results has focus, while text in them is selected,
     and for a few seconds after each click, key press or scroll inside them. */
(function () {
  "use strict";

  var QUIET_MS = 8000;
  var section = document.getElementById("results");
  if (!section || !section.hasAttribute("data-poll") || !window.fetch || !window.DOMParser) return;

  var url = section.getAttribute("data-poll");
  var every = (parseFloat(section.getAttribute("data-poll-seconds")) || 3) * 1000;
  var etag = null, quietUntil = 0, timer = null, stopped = false;
  var served = {};  // part key -> the html the server last sent for it (the live dom is changed by charts)

  function parts(root) {
    var found = {};
    root.querySelectorAll("[data-live]").forEach(function (el) { found[el.getAttribute("data-live")] = el; });
    return found;
  }
  function skeleton(root) {
    // the section without its parts: when this changes (a partial added or removed), the whole section is swapped
    var copy = root.cloneNode(true);
    copy.querySelectorAll("[data-live]").forEach(function (el) { el.replaceWith(document.createComment(el.getAttribute("data-live"))); });
    return copy.outerHTML;
  }
  function recommendation(root) {
    var node = root.querySelector("[data-recommendation]");
    return node ? node.getAttribute("data-recommendation") + "|" + node.textContent.trim() : "";
  }

  var initial = parts(section);
  Object.keys(initial).forEach(function (key) { served[key] = initial[key].outerHTML; });
  var servedSkeleton = skeleton(section);
  var lastRecommendation = recommendation(section);

  var announcer = document.createElement("p");
  announcer.id = "results-announce";
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  announcer.setAttribute("aria-atomic", "true");
  section.after(announcer);

  function busy() {
    if (document.hidden || Date.now() < quietUntil) return true;
    var active = document.activeElement;
    if (active && section.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
    var selection = window.getSelection ? window.getSelection() : null;
    return !!(selection && !selection.isCollapsed && section.contains(selection.anchorNode));
  }
  ["pointerdown", "keydown", "wheel", "touchstart"].forEach(function (name) {
    section.addEventListener(name, function () { quietUntil = Date.now() + QUIET_MS; }, { passive: true });
  });

  // where focus is, as an id or a path of child indexes from the element swapped
  function focusPlace(container) {
    var active = document.activeElement;
    if (!active || active === document.body || !container.contains(active)) return null;
    if (active.id) return { id: active.id };
    var path = [];
    for (var node = active; node !== container; node = node.parentElement) {
      path.unshift(Array.prototype.indexOf.call(node.parentElement.children, node));
    }
    return { path: path };
  }
  function restoreFocus(place, container) {
    if (!place) return;
    var target = place.id ? document.getElementById(place.id) : container;
    if (!place.id) {
      for (var i = 0; target && i < place.path.length; i++) target = target.children[place.path[i]];
    }
    if (target && typeof target.focus === "function") target.focus({ preventScroll: true });
  }
  function openPanels(container) {
    var open = [];
    container.querySelectorAll("details").forEach(function (d, i) { if (d.open) open.push(i); });
    return open;
  }
  function reopen(container, open) {
    var all = container.querySelectorAll("details");
    open.forEach(function (i) { if (all[i]) all[i].open = true; });
  }
  function charts() { return window.leversCharts || { draw: function () {}, destroy: function () {} }; }

  function swap(old, fresh, focusRoot) {
    var place = focusPlace(old), open = openPanels(old);
    charts().destroy(old);
    old.replaceWith(fresh);
    reopen(fresh, open);
    if (window.htmx) window.htmx.process(fresh);
    charts().draw(fresh);
    restoreFocus(place, focusRoot || fresh);
  }

  function apply(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("results");
    if (!fresh) return;
    var freshParts = parts(fresh), oldParts = parts(section);
    var sameShape = skeleton(fresh) === servedSkeleton &&
      Object.keys(freshParts).join() === Object.keys(oldParts).join();
    var recommendationNow = recommendation(fresh);
    if (!fresh.hasAttribute("data-poll") || !sameShape) {
      // the experiment stopped, or the page's layout changed: one whole swap (focus kept by place), then settle
      var adopted = document.importNode(fresh, true);
      swap(section, adopted);
      section = adopted;
      Object.keys(freshParts).forEach(function (key) { served[key] = freshParts[key].outerHTML; });
      servedSkeleton = skeleton(fresh);
      if (!fresh.hasAttribute("data-poll")) stopped = true;
    } else {
      Object.keys(freshParts).forEach(function (key) {
        var next = freshParts[key].outerHTML;
        if (served[key] === next) return;
        served[key] = next;
        swap(oldParts[key], document.importNode(freshParts[key], true));
      });
    }
    if (recommendationNow !== lastRecommendation) {
      lastRecommendation = recommendationNow;
      var node = section.querySelector("[data-recommendation]");
      if (node) announcer.textContent = "Recommendation updated: " + node.textContent.trim();
    }
  }

  function schedule() {
    if (!stopped) timer = window.setTimeout(tick, every);
  }
  var inflight = false;
  function tick() {
    timer = null;
    if (inflight) return;
    if (busy()) { schedule(); return; }
    inflight = true;
    var headers = { "HX-Request": "true" };
    if (etag) headers["If-None-Match"] = etag;
    // no-store: the 304 comes to this script instead of being turned into the cached 200 by the browser
    window.fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" }).then(function (answer) {
      if (answer.status === 401 || answer.status === 403 || answer.status === 404) { stopped = true; return null; }
      if (answer.status !== 200) return null;
      etag = answer.headers.get("ETag");
      return answer.text();
    }).then(function (html) {
      if (html && !busy()) apply(html);
      else if (html) etag = null;  // the answer came while the person was busy: fetch it again later
    }).catch(function () { /* offline or a deploy: try again on the next tick */ }).then(function () {
      inflight = false;
      schedule();
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !timer && !stopped) tick();
  });
  schedule();
})();
