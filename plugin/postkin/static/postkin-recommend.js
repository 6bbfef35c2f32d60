/*
 * postkin "Recommended for you": the posts nearest to what this reader has read on this site.
 *
 * Privacy: the list of posts read is kept in this browser's localStorage (key "postkin:read", post keys
 * only, the last 100) and never sent anywhere. The one request this script makes is a GET of the
 * site's own vectors file (same origin, checked below), on every page that has the block, whatever the
 * reader has read: so the request tells the server nothing the page request did not (not even whether
 * this browser has a history), and the ranking is done here, in the browser.
 *
 * Markup it fills (hidden until there is something to show):
 *   <section data-postkin-recommend data-postkin-key="KEY" data-postkin-vectors="/postkin/vectors.json"
 *            data-postkin-root="/" [data-postkin-k="5"] [data-postkin-last="5"] hidden>
 *     <h2>Recommended for you</h2><ol></ol>
 *   </section>
 *
 * Links: a post's URL in the file is a path below data-postkin-root, with or without a leading slash
 * (Pelican's "posts/a.html", Jekyll's and Eleventy's "/posts/a/" without the base path: root "<base>/";
 * Hugo's and Astro's "/<base>/posts/a/", which hold it already: root "/").
 *
 * Ranking (the same as postkin.readers.browser.recommend in Python): the mean of the vectors of the
 * last `last` distinct posts read, then the `k` posts with the largest inner product with it, leaving
 * out every post already read; ties go to the post listed first in the file.
 */
(function () {
  "use strict";

  var STORE = "postkin:read";
  var KEEP = 100;

  function readHistory() {
    try {
      var value = JSON.parse(window.localStorage.getItem(STORE) || "[]");
      return Array.isArray(value) ? value.filter(function (k) { return typeof k === "string"; }) : [];
    } catch (e) {
      return null; // storage disabled or unreadable: record nothing, show nothing
    }
  }

  function writeHistory(history) {
    try {
      window.localStorage.setItem(STORE, JSON.stringify(history.slice(-KEEP)));
    } catch (e) { /* full or disabled: the page works without it */ }
  }

  function decode(base64) {
    var text = window.atob(base64), out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  function recommend(data, history, k, last) {
    var dim = data.dim, posts = data.posts, lo = data.lo, step = data.step, codes = decode(data.codes);
    var index = {}, seen = {}, read = [], i, d, j;
    for (i = 0; i < posts.length; i++) index[posts[i][0]] = i;
    for (var h = history.length - 1; h >= 0; h--) {
      i = index[history[h]];
      if (i === undefined || seen[i]) continue;
      seen[i] = true;
      if (read.length < last) read.push(i);
    }
    if (read.length < 2) return [];
    var query = new Float64Array(dim);
    for (j = 0; j < read.length; j++) {
      for (d = 0; d < dim; d++) query[d] += lo[d] + step[d] * codes[read[j] * dim + d];
    }
    for (d = 0; d < dim; d++) query[d] /= read.length;
    var scored = [];
    for (i = 0; i < posts.length; i++) {
      if (seen[i]) continue;
      var score = 0;
      for (d = 0; d < dim; d++) score += (lo[d] + step[d] * codes[i * dim + d]) * query[d];
      scored.push([score, i]);
    }
    scored.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    return scored.slice(0, k).map(function (pair) { return posts[pair[1]]; });
  }

  function attribute(block, name, fallback) {
    var value = parseInt(block.getAttribute(name), 10);
    return value > 0 ? value : fallback;
  }

  function run(block) {
    var key = block.getAttribute("data-postkin-key");
    var source = new URL(block.getAttribute("data-postkin-vectors") || "", document.baseURI);
    var root = new URL(block.getAttribute("data-postkin-root") || "/", document.baseURI);
    if (!key || source.origin !== window.location.origin) return; // the site's own file, nothing else
    var history = readHistory();
    if (history !== null) {
      history = history.filter(function (k) { return k !== key; });
      history.push(key);
      writeHistory(history);
    }
    var k = attribute(block, "data-postkin-k", 5), last = attribute(block, "data-postkin-last", 5);
    // Fetched whether or not there is a history (or storage at all): the request is the same for every
    // reader of this page, so the access log cannot tell a first visit from a returning reader's.
    window.fetch(source.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || data.version !== 1 || history === null) return; // no history: nothing shown
        var found = recommend(data, history, k, last), list = block.querySelector("ol, ul");
        if (!found.length || !list) return;
        found.forEach(function (post) {
          var item = document.createElement("li"), link = document.createElement("a");
          link.className = "postkin-recommended";
          link.href = new URL(post[1].replace(/^\/+/, ""), root).href; // a path below the root
          link.textContent = post[2]; // text, never HTML
          link.setAttribute("data-postkin-key", post[0]);
          item.appendChild(link);
          list.appendChild(item);
        });
        block.hidden = false;
      })
      .catch(function () { /* offline or no file: the block stays hidden */ });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-postkin-recommend]"), run);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
