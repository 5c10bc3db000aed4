// Offline search of the documentation site: page text and API names from assets/search-index.js
// (window.PRESTO_SEARCH, written by tools/build_site.py). No network, works from file:// too.
(function () {
  const script = document.currentScript, root = (script && script.dataset.root) || '';
  const input = document.getElementById('site-search'), list = document.getElementById('site-search-results');
  if (!input || !list || !window.PRESTO_SEARCH) return;
  const rows = [];  // one per section: where it is and what it says, lower-cased once
  for (const page of window.PRESTO_SEARCH) {
    for (const [id, heading, text, api] of page.sections) {
      rows.push({href: root + page.href + (id ? '#' + id : ''), page: page.title, heading: heading || page.title, text, api,
                 h: (heading || page.title).toLowerCase(), t: text.toLowerCase(), p: page.title.toLowerCase()});
    }
  }

  function score(row, q, terms) {
    let s = 0;
    for (const term of terms) {
      const inH = row.h.includes(term), inT = row.t.includes(term), inP = row.p.includes(term);
      if (!inH && !inT && !inP) return 0;  // every word must be somewhere
      s += (inH ? 10 : 0) + (inP ? 2 : 0) + (inT ? 1 : 0);
    }
    if (row.h === q) s += row.api ? 100 : 60;  // an API name typed exactly
    else if (row.h.startsWith(q)) s += row.api ? 40 : 20;
    return s;
  }

  function snippet(row, terms) {
    const at = Math.max(0, ...terms.map(t => row.t.indexOf(t)).filter(i => i >= 0).slice(0, 1));
    const from = Math.max(0, at - 50);
    return (from ? '…' : '') + row.text.slice(from, from + 140) + (from + 140 < row.text.length ? '…' : '');
  }

  function search() {
    const q = input.value.trim().toLowerCase(), terms = q.split(/\s+/).filter(Boolean);
    list.replaceChildren();
    if (!terms.length) return;
    const hits = rows.map(r => [score(r, q, terms), r]).filter(([s]) => s > 0)
                     .sort((a, b) => b[0] - a[0] || a[1].href.localeCompare(b[1].href)).slice(0, 25);
    if (!hits.length) { const li = document.createElement('li'); li.className = 'none'; li.textContent = 'No results'; list.append(li); return; }
    for (const [, r] of hits) {
      const li = document.createElement('li'), a = document.createElement('a'), b = document.createElement('b');
      const where = document.createElement('span'), what = document.createElement('small');
      a.href = r.href; b.textContent = r.heading; where.textContent = r.page; what.textContent = snippet(r, terms);
      if (r.api) a.className = 'api';
      a.append(b, where, what); li.append(a); list.append(li);
    }
  }

  input.addEventListener('input', search);
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter') { const first = list.querySelector('a'); if (first) window.location.href = first.href; }
    if (e.key === 'Escape') { input.value = ''; search(); }
  });
  document.addEventListener('keydown', e => {  // "/" focuses the search box, as on most documentation sites
    if (e.key === '/' && document.activeElement !== input && !/^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      e.preventDefault(); input.focus();
    }
  });
})();
