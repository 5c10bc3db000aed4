"""The documentation site (tools/build_site.py), built from the real notebooks, checked as files and then
opened in a real headless browser: Debian's chromium driven by selenium through /usr/bin/chromedriver.

Without /usr/bin/chromium or /usr/bin/chromedriver (`make browser` installs them as root) the browser
tests skip, except under CI (the `CI` environment variable set), where they fail. The file checks
(links, paths, API entries, byte-identical rebuilds) always run.
Screenshot: tests/artifacts/site_00_edm.png; `PRESTO_UPDATE_SCREENSHOT=1` also refreshes the
committed tests/screenshots/site_00_edm.png. `PRESTO_SITE_FORCE=1` makes the rebuild test reprocess
every notebook with nbdev too (fresh kernels, a minute more) instead of reusing `_proc/`.
"""
import functools, hashlib, os, posixpath, re, subprocess, sys, threading, uuid
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_site  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')
FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--window-size=1280,1400', '--autoplay-policy=no-user-gesture-required']
ARTIFACT, SCREENSHOT = ROOT/'tests/artifacts/site_00_edm.png', ROOT/'tests/screenshots/site_00_edm.png'
# visible text of <main> without code, scripts and MathJax's typeset output: raw TeX would show up here
VISIBLE_TEXT_JS = """const m = document.querySelector('main').cloneNode(true);
m.querySelectorAll('pre, code, script, style, .MathJax, .MathJax_Display, .MJX_Assistive_MathML').forEach(e => e.remove());
return m.textContent;"""
RAW_TEX = re.compile(r'\$\$|(?<!\\)\$[^$\s][^$]*\$|\\\(|\\\[')
RAW_TABLE = re.compile(r'\|\s*:?-{3,}:?\s*\|')  # a markdown table left as text: its |---| row outside code
# elements sticking out of the content column (descendants of a box that scrolls or clips are that box's business)
OVERFLOW_JS = """const main = document.querySelector('main'), cs = getComputedStyle(main);
const r = main.getBoundingClientRect(), left = r.left + parseFloat(cs.paddingLeft), right = r.right - parseFloat(cs.paddingRight);
const clips = e => { const o = getComputedStyle(e).overflowX; return o == 'auto' || o == 'scroll' || o == 'hidden'; };
const bad = []; let widest = 0;
for (const e of main.querySelectorAll('*')) {
  let p = e.parentElement, inside = false;
  while (p && p !== main) { if (clips(p)) { inside = true; break; } p = p.parentElement; }
  if (inside || e.closest('.MJX_Assistive_MathML, script, style')) continue;
  const b = e.getBoundingClientRect();
  if (b.width) widest = Math.max(widest, b.width);
  if (b.width && (b.right > right + 1 || b.left < left - 1))
    bad.push(`${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${Math.round(b.width)}px: ${(e.textContent || '').trim().slice(0, 60)}`);
}
return {column: Math.round(right - left), widest: Math.round(widest), page: document.documentElement.scrollWidth,
        window: window.innerWidth, bad: bad.slice(0, 10)};"""


def flag(name): return os.environ.get(name, '').lower() not in ('', '0', 'false', 'no')


def build(out:Path, *extra) -> str:
    r = subprocess.run([sys.executable, str(ROOT/'tools/build_site.py'), '--out', str(out), *extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode: pytest.fail(f'tools/build_site.py failed:\n{(r.stdout + r.stderr)[-2500:]}', pytrace=False)
    return r.stdout + r.stderr


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')/'_site'
    return out, build(out)


@pytest.fixture(scope='module')
def site(built) -> Path: return built[0]


class Page(HTMLParser):
    "Ids and links of one HTML page."
    def __init__(self, text):
        super().__init__(); self.ids, self.links = set(), []; self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        if tag == 'a' and a.get('href') is not None: self.links.append(a['href'])


@pytest.fixture(scope='module')
def pages(site) -> dict:
    return {p.relative_to(site).as_posix(): Page(p.read_text(encoding='utf-8')) for p in site.rglob('*.html')}


def test_site_has_a_page_per_notebook(site):
    pages = {p.stem for p in site.glob('*.html')}
    assert pages == {p.stem for p in (ROOT/'nbs').glob('*.ipynb')} and {'index', '00_edm'} <= pages


def test_build_says_which_path_it_takes(built):
    "`make docs` never switches to quarto by itself: it says it renders with nbconvert; quarto is opt-in."
    _, log = built
    assert 'building with nbdev processing + nbconvert (offline)' in log
    quarto = (ROOT/'nbs/_quarto.yml').read_text()
    url = re.search(r'html-math-method:\s*\n\s*method: mathjax\s*\n\s*url: "([^"]+)"', quarto)
    assert url and not re.match(r'(https?:)?//', url[1]) and url[1].startswith('assets/mathjax/MathJax.js'), 'quarto math must be local'


def test_site_loads_nothing_from_the_network(site):
    "Scripts, styles, images and media are all local (or inline): the site works offline."
    for page in site.rglob('*.html'):
        remote = re.findall(r'<(?:script|link|img|audio|source|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', page.read_text())
        assert not remote, f'{page.name} loads {remote}'
    assert (site/'assets/mathjax/MathJax.js').exists() and (site/'assets/mathjax/config/local/presto.js').exists()
    mathjax_mb = sum(f.stat().st_size for f in (site/'assets/mathjax').rglob('*') if f.is_file()) / 2**20
    assert mathjax_mb < 4, f'bundled MathJax is {mathjax_mb:.1f} MB'


def test_every_internal_link_resolves(site, pages, capsys):
    "Every relative link names a file of the site and, with a #fragment, an element id on that page."
    checked, bad, fragments, docs = 0, [], 0, 0
    for name, page in pages.items():
        for href in page.links:
            if re.match(r'^[a-z][a-z0-9+.-]*:|^//', href, re.I): continue
            path, _, frag = href.partition('#')
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name
            checked += 1; docs += not name.startswith('source/')
            if target not in pages:
                if not (site/target).is_file(): bad.append(f'{name}: {href} (no such file)')
                continue
            if frag:
                fragments += 1
                if frag not in pages[target].ids and unquote(frag) not in pages[target].ids: bad.append(f'{name}: {href} (no such id)')
    with capsys.disabled(): print(f'\n  internal links: {checked} checked ({docs} on the doc pages, the rest on the source pages, mostly line numbers), '
                                  f'{fragments} with a fragment, {len(bad)} unresolved')
    assert not bad, f'{len(bad)} links lead nowhere: {bad[:15]}'
    # nbdev's lower-case symbol links now name the real (mixed-case) ids
    edm = (site/'05_dit.html').read_text()
    assert 'href="00_edm.html#EDMDenoiser"' in edm and '#edmdenoiser"' not in edm
    # a symbol with no API entry (private helper, method) links to its line in the exported module
    assert re.search(r'href="source/presto/dmd\.py\.html#L-\d+"><code>_shard_draws</code>', (site/'09_presto_s.html').read_text())
    assert 'href="#TextEncoder.encode"' in (site/'03_text.html').read_text()  # same page: the fragment alone
    assert 'href="12_playground.html#Playground.run"><code>Playground.run</code>' in (site/'index.html').read_text()  # a method with its own API entry
    cli = (site/'99_cli.html').read_text()
    assert 'href="00_edm.html"' in cli and 'href="98_settings.html"' in cli and '.ipynb"' not in cli


def api_blocks(text:str) -> list[str]:
    return re.findall(r'<div class="jp-Cell jp-CodeCell[^"]*celltag_api-doc.*?</pre>.*?(?=<div class="jp-Cell |<nav class="page-nav")', text, re.S)


def plain(s:str) -> str:
    import html
    return html.unescape(re.sub(r'<[^>]+>', '', s))


def test_api_entries(site, pages):
    "Every API entry: its full name as id, a link to its source line, short defaults, no docstring of a parent."
    n = 0
    for page in sorted(site.glob('*.html')):
        for block in api_blocks(page.read_text()):
            n += 1
            src = re.search(r'<a class="source-link" href="(source/presto/\w+\.py\.html)#(L-\d+)"', block)
            assert src, f'{page.name}: API entry without a source link: {plain(block)[:120]}'
            assert src[2] in pages[src[1]].ids
            sig = plain(re.search(r'<pre>(.*?)</pre>', block, re.S)[1])
            code = re.sub(r'#[^\n]*', '', sig)  # without the docments comments
            long = [d for d in re.findall(r'=([^,\n]+(?:\([^)]*\))?)', code) if len(d.strip()) > build_site.DEFAULT_MAX + 5]
            assert not long, f'{page.name}: long default values in {sig[:200]}'
    assert n > 300
    assert not [p.name for p in site.glob('*.html') if '[source](' in plain(p.read_text())], "nbdev's quarto-only source links left as text"
    results = plain((site/'13_results.html').read_text())
    assert 'rows:tuple=RESULT_ROWS' in results and "ResultRow(label='base'" not in results
    assert 'Inappropriate argument value' not in results  # ReproduceError has no docstring of its own: ValueError's is not shown
    for p in ('09_presto_s', '10_presto_l', '11_presto_ls'):
        assert "PrestoSConfig(steps=2000" not in plain((site/f'{p}.html').read_text())
    assert 'cfg:PrestoSConfig=PrestoSConfig()' in plain((site/'09_presto_s.html').read_text())
    # the source pages: the linked line is where the symbol is defined
    edm_src = (site/'source/presto/edm.py.html').read_text()
    at = re.search(r'href="source/presto/edm\.py\.html#L-(\d+)"[^>]*>source</a>(?:</p>)?\s*<h3 id="EDMDenoiser"', (site/'00_edm.html').read_text())[1]
    assert 'class EDMDenoiser' in plain(edm_src.split(f'id="L-{at}"', 1)[1].split('\n', 1)[0])


def test_stored_outputs_show_no_machine_paths(site):
    "Outputs stored where the notebooks ran show `<repo>` and `<tmp>`, not that machine's folders."
    roots = {str(ROOT), *build_site.checkout_roots([], ROOT)}
    for page in site.glob('*.html'):
        text = re.sub(r'data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]*', '', page.read_text())
        assert not [r for r in roots if r in text], f'{page.name} shows the checkout path'
        tmp = re.findall(r'(?<![\w.~/-])/(?:tmp|var/folders)/[\w.-]+', text)
        assert not tmp, f'{page.name} shows temporary folders: {tmp[:5]}'
        assert not re.search(r'/work/main\b|/home/runner\b', text), page.name
    cli = plain((site/'99_cli.html').read_text())
    assert '# settings file: <repo>/settings.ini' in cli and '<tmp>/missing.wav' in cli
    assert 'sixteen commands' in cli


def test_sanitize_text():
    roots = build_site.checkout_roots([], Path('/srv/x/presto'))
    out = build_site.sanitize_text('/srv/x/presto/data and /tmp/tmpab_12/out.json, ../data/a, /home/me/presto/settings.ini', roots)
    assert out == '<repo>/data and <tmp>/out.json, ../data/a, /home/me/presto/settings.ini'
    assert build_site.sanitize_text('<img src="data:image/png;base64,AA/tmp/AA==">', roots, 'text/html') == '<img src="data:image/png;base64,AA/tmp/AA==">'
    assert build_site.shorten_defaults("def f(\n    a:int=1, # x, y\n    rows:tuple=(" + 'R(1), ' * 20 + "R(2)), *, b='('\n):",
                                       {'rows': 'ROWS'}) == "def f(\n    a:int=1, # x, y\n    rows:tuple=ROWS, *, b='('\n):"


def tree_digest(folder:Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob('*')) if p.is_file()}


def test_builds_are_byte_identical(site, tmp_path, capsys):
    "A second build of the same commit writes the same bytes (with PRESTO_SITE_FORCE=1 also after nbdev reprocesses)."
    again = tmp_path/'_site'
    build(again, *(['--force'] if flag('PRESTO_SITE_FORCE') else []))
    a, b = tree_digest(site), tree_digest(again)
    with capsys.disabled(): print(f'\n  rebuild: {len(a)} files, {sum(x == b.get(k) for k, x in a.items())} identical')
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_page_does_not_depend_on_nbdev_cell_ids(site, tmp_path):
    "nbdev gives the `show_doc` cells it adds random ids: the rendered page must not show them."
    import json
    proc = ROOT/'_proc'
    keep = {c.get('id') for c in json.loads((ROOT/'nbs/00_edm.ipynb').read_text())['cells']}
    outs = []
    for k in range(2):
        d = tmp_path/f'proc{k}'; d.mkdir()
        nb = json.loads((proc/'00_edm.ipynb').read_text())
        for c in nb['cells']:
            if c.get('id') not in keep: c['id'] = uuid.uuid4().hex[:8]
        (d/'00_edm.ipynb').write_text(json.dumps(nb))
        build_site.render_site(d, tmp_path/f'out{k}', name='presto', doc_url='', root_dir=ROOT)
        outs.append((tmp_path/f'out{k}/00_edm.html').read_bytes())
    assert outs[0] == outs[1]


# ---------------------------------------------------------------------------------------------- browser

@pytest.fixture(scope='module')
def url(site):
    "The site served over http on localhost, for the browser."
    handler = functools.partial(type('Quiet', (SimpleHTTPRequestHandler,), {'log_message': lambda *a: None}),
                                directory=str(site))
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_port}'
    server.shutdown()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        msg = f'browser test needs {" and ".join(missing)}: run `make browser` as root (Debian chromium + chromium-driver)'
        if flag('CI'): pytest.fail(msg + ' (CI is set, so this fails instead of skipping)')
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for f in FLAGS + [f'--user-data-dir={tmp_path_factory.mktemp("chromium")}']: opts.add_argument(f)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)  # explicit driver: selenium-manager never downloads
    yield driver
    driver.quit()


def open_page(driver, url:str):
    "Load `url`, wait for MathJax to finish typesetting, return the console errors it logged."
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get_log('browser')  # drop earlier pages' messages
    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script('return document.documentElement.dataset.mathjax') == 'done',
                                    message=f'MathJax did not finish typesetting {url}')
    # MathJax probes font loading with an about:blank @font-face, which chromium reports as an error
    return [l['message'] for l in driver.get_log('browser') if l['level'] == 'SEVERE' and 'about:blank' not in l['message']]


def check_common(driver, site:Path, errors:list, name:str, has_math:bool):
    "Checks every page must pass: no console errors, math typeset, tables rendered, nothing wider than the column."
    assert errors == [], name
    js = driver.execute_script
    if has_math:
        assert js("return document.querySelectorAll('.MathJax, .MathJax_Display').length") > 0, f'{name}: no typeset math'
        fonts = js("return Array.from(document.fonts).filter(f => f.status == 'loaded').map(f => f.family)")
        assert any(f.startswith('STIXMathJax') for f in fonts), f'{name}: bundled math fonts not loaded: {fonts}'
    assert js("return document.querySelectorAll('.noError, .merror, .MathJax_Error').length") == 0, f'{name}: TeX errors'
    visible = js(VISIBLE_TEXT_JS)
    assert not RAW_TEX.findall(visible), f'{name}: raw TeX delimiters left in the visible text'
    assert not RAW_TABLE.search(visible), f'{name}: a markdown table left as text'
    links = set(js("return Array.from(document.querySelectorAll('nav.site-sidebar li a')).map(a => a.getAttribute('href'))"))
    assert links == {q.relative_to(site).as_posix() for q in site.rglob('*.html') if q.relative_to(site).parts[0] not in ('source', 'assets')}
    # code never breaks inside a word, and printed output (tables) keeps one line per line
    assert js("return [...document.querySelectorAll('main pre, main code')].filter(e => getComputedStyle(e).wordBreak == 'break-all' "
              "|| getComputedStyle(e).overflowWrap == 'anywhere').length") == 0, f'{name}: code that breaks mid-word'
    assert js("return [...document.querySelectorAll('main .jp-RenderedText pre')].every(e => getComputedStyle(e).whiteSpace == 'pre')"), name
    dead = js("""const has = h => { try { return document.getElementById(h) || document.getElementById(decodeURIComponent(h)); } catch (e) { return null; } };
                 return [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1)).filter(h => h && !has(h))""")
    assert dead == [], f'{name}: links to ids the page does not have: {dead[:10]}'
    width = js(OVERFLOW_JS)
    assert width['bad'] == [] and width['page'] <= width['window'], f'{name}: wider than the content column ({width})'
    title, body = js("""return [getComputedStyle(document.querySelector('.page-title')).fontFamily,
                               getComputedStyle(document.querySelector('.jp-RenderedMarkdown p, .jp-RenderedMarkdown li') || document.body).fontFamily]""")
    assert title == body and 'serif' not in title.replace('sans-serif', ''), f'{name}: title font {title} vs text {body}'
    return width


def test_every_page_in_browser(site, url, browser, capsys):
    "Each page: no errors, math typeset, tables as tables, nothing wider than the column, contents and prev/next."
    js, widths = browser.execute_script, []
    names = sorted(p.name for p in site.glob('*.html'))
    for name in names:
        text = (site/name).read_text()
        has_math = bool(re.search(r'\$[^$\s]|\\\(|\\\[|\$\$', plain(re.sub(r'<(pre|code|script|style)\b.*?</\1>', '', text, flags=re.S))))
        widths.append((name, check_common(browser, site, open_page(browser, f'{url}/{name}'), name, has_math)))
        if name != 'index.html':
            assert js("return document.querySelectorAll('nav.site-toc a').length") > 0, f'{name}: no table of contents'
        prev_next = js("return [...document.querySelectorAll('nav.page-nav a')].map(a => a.getAttribute('rel'))")
        assert prev_next == (['next'] if name == 'index.html' else ['prev', 'next'])   # the command pages come after 99_cli
    with capsys.disabled():
        col = {w['column'] for _, w in widths}
        print(f'\n  widths: content column {sorted(col)} px; widest element (outside boxes that scroll) '
              f'{max(w["widest"] for _, w in widths)} px; nothing outside the column on {len(widths)} pages')


def test_index_page_in_browser(site, url, browser):
    errors = open_page(browser, f'{url}/index.html')
    assert errors == []
    js = browser.execute_script
    text = js("return document.querySelector('main').innerText")
    assert browser.title == 'presto' and 'make demo' in text and 'make test' in text
    rows = js("""const h = [...document.querySelectorAll('main h2')].find(h => h.textContent.startsWith('The pipeline, command by command'));
                 let e = h.closest('.jp-Cell'); const t = e.querySelector('table'); return t ? t.querySelectorAll('tbody tr').length : 0""")
    assert rows == 16, 'the pipeline table must render as a table of the sixteen commands'


def test_edm_page_in_browser(site, url, browser):
    import presto.edm
    errors = open_page(browser, f'{url}/00_edm.html')
    browser.execute_script("document.querySelector('main img')?.scrollIntoView({block: 'center'})")  # a figure in the shot
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACT))
    if flag('PRESTO_UPDATE_SCREENSHOT'): save_small_png(ARTIFACT, SCREENSHOT)
    assert errors == []
    js = browser.execute_script
    assert js("return document.querySelector('nav.site-sidebar li.current a').getAttribute('href')") == '00_edm.html'
    images = js("return Array.from(document.querySelectorAll('main img')).map(i => i.complete && i.naturalWidth > 0)")
    assert images and all(images), f'figures missing or not loaded: {images}'
    api = set(js("return Array.from(document.querySelectorAll('.celltag_api-doc :is(h2, h3, h4)')).map(h => h.id)"))
    assert api & set(presto.edm.__all__), f'no API docs of exported functions; found {api}'
    # a source link lands on the line that defines the symbol
    href = js("return document.querySelector('#EDMDenoiser').closest('.jp-OutputArea-output').querySelector('a.source-link').href")
    browser.get(href)
    assert js("return !!document.getElementById(location.hash.slice(1))") and 'class EDMDenoiser' in js(
        "const a = document.getElementById(location.hash.slice(1)); let t = '', n = a.nextSibling; "
        "while (n && !(n.nodeType == 1 && n.tagName == 'A' && n.id)) { t += n.textContent; n = n.nextSibling; } return t")


def test_search_in_browser(site, url, browser):
    "The offline search finds API names and page text, and its results lead to elements that exist."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    assert open_page(browser, f'{url}/index.html') == []
    box = browser.find_element(By.ID, 'site-search')
    def results(q):
        box.clear(); box.send_keys(q)
        WebDriverWait(browser, 5).until(lambda d: d.execute_script("return document.querySelectorAll('#site-search-results a').length") > 0,
                                        message=f'no search results for {q!r}')
        return browser.execute_script("return [...document.querySelectorAll('#site-search-results a')].map(a => a.getAttribute('href'))")
    assert results('EDMDenoiser')[0] == '00_edm.html#EDMDenoiser'
    assert any(h.startswith('09_presto_s.html') for h in results('distribution matching'))
    assert results('TextEncoder.encode')[0] == '03_text.html#TextEncoder.encode'
    box.clear(); box.send_keys('EDMDenoiser', Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith('00_edm.html#EDMDenoiser'))
    assert browser.execute_script("return !!document.getElementById('EDMDenoiser')")


def save_small_png(src:Path, dst:Path, colors:int=128):
    "A palette PNG of screenshot `src` (a fraction of the size) at `dst`, for committing."
    from PIL import Image
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.open(src).convert('RGB').quantize(colors).save(dst, optimize=True)


def test_audio_players_in_browser(site, url, browser):
    "Every player has its inline Ogg Vorbis and an MP3 (or WAV) fallback in media/, and the browser decodes each source."
    from selenium.webdriver.support.ui import WebDriverWait
    js, n = browser.execute_script, 0
    for page in sorted(site.glob('*.html')):
        if '<audio' not in page.read_text(): continue
        assert open_page(browser, f'{url}/{page.name}') == []
        kinds = js("return [...document.querySelectorAll('main audio')].map(a => [...a.querySelectorAll('source')].map(s => s.type))")
        assert kinds and all(k[0] == 'audio/ogg' and k[1] in ('audio/mpeg', 'audio/wav') for k in kinds), f'{page.name}: {kinds}'
        assert all(js("return document.createElement('audio').canPlayType(arguments[0])", t) != '' for t in {t for k in kinds for t in k})
        js("""window._players = [...document.querySelectorAll('main audio source')].map(s => {
                const a = new Audio(); a.preload = 'metadata'; a.src = s.src; a.load(); return a; });""")
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window._players.every(a => a.readyState >= 1 || a.error)"),
                                         message=f'{page.name}: audio sources did not load their metadata')
        state = js("return window._players.map(a => [a.error && a.error.code, a.duration])")
        assert all(err is None and dur > 0 for err, dur in state), f'{page.name}: sources that cannot play: {state}'
        n += len(state)
    assert n >= 40, f'only {n} audio sources checked'
