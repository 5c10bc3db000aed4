"""The documentation site (tools/build_site.py), built from the real notebooks and opened in a real
headless browser: Debian's chromium driven by selenium through /usr/bin/chromedriver.

Without /usr/bin/chromium or /usr/bin/chromedriver (`make browser` installs them as root) the browser
tests skip, except under CI (the `CI` environment variable set), where they fail.
Screenshot: tests/artifacts/site_00_edm.png; `PRESTO_UPDATE_SCREENSHOT=1` also refreshes the
committed tests/screenshots/site_00_edm.png.
"""
import functools, os, re, subprocess, sys, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')
FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--window-size=1280,1400']
ARTIFACT, SCREENSHOT = ROOT/'tests/artifacts/site_00_edm.png', ROOT/'tests/screenshots/site_00_edm.png'
# visible text of <main> without code, scripts and MathJax's typeset output: raw TeX would show up here
VISIBLE_TEXT_JS = """const m = document.querySelector('main').cloneNode(true);
m.querySelectorAll('pre, code, script, style, .MathJax, .MathJax_Display, .MJX_Assistive_MathML').forEach(e => e.remove());
return m.textContent;"""
RAW_TEX = re.compile(r'\$\$|(?<!\\)\$[^$\s][^$]*\$|\\\(|\\\[')


def flag(name): return os.environ.get(name, '').lower() not in ('', '0', 'false', 'no')


@pytest.fixture(scope='module')
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('site')/'_site'
    r = subprocess.run([sys.executable, str(ROOT/'tools/build_site.py'), '--no-quarto', '--out', str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    if r.returncode: pytest.fail(f'tools/build_site.py failed:\n{(r.stdout + r.stderr)[-2500:]}', pytrace=False)
    return out


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


def check_common(driver, site:Path, errors:list):
    "Checks every page must pass: no console errors, rendered math, no raw TeX, a sidebar to every page."
    assert errors == []
    js = driver.execute_script
    assert js("return document.querySelectorAll('.MathJax, .MathJax_Display').length") > 0, 'no typeset math'
    assert js("return document.querySelectorAll('.noError, .merror, .MathJax_Error').length") == 0, 'TeX errors'
    assert not RAW_TEX.findall(js(VISIBLE_TEXT_JS)), 'raw TeX delimiters left in the visible text'
    fonts = js("return Array.from(document.fonts).filter(f => f.status == 'loaded').map(f => f.family)")
    assert any(f.startswith('STIXMathJax') for f in fonts), f'bundled math fonts not loaded: {fonts}'
    links = set(js("return Array.from(document.querySelectorAll('nav.site-sidebar li a')).map(a => a.getAttribute('href'))"))
    assert links == {p.name for p in site.glob('*.html')}


def test_site_has_a_page_per_notebook(site):
    pages = {p.stem for p in site.glob('*.html')}
    assert pages == {p.stem for p in (ROOT/'nbs').glob('*.ipynb')} and {'index', '00_edm'} <= pages


def test_site_loads_nothing_from_the_network(site):
    "Scripts, styles, images and media are all local (or inline): the site works offline."
    for page in site.glob('*.html'):
        remote = re.findall(r'<(?:script|link|img|audio|source|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', page.read_text())
        assert not remote, f'{page.name} loads {remote}'
    assert (site/'assets/mathjax/MathJax.js').exists()
    mathjax_mb = sum(f.stat().st_size for f in (site/'assets/mathjax').rglob('*') if f.is_file()) / 2**20
    assert mathjax_mb < 4, f'bundled MathJax is {mathjax_mb:.1f} MB'


def test_edm_page_in_browser(site, url, browser):
    import presto.edm
    errors = open_page(browser, f'{url}/00_edm.html')
    browser.execute_script("document.querySelector('main img')?.scrollIntoView({block: 'center'})")  # a figure in the shot
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACT))
    if flag('PRESTO_UPDATE_SCREENSHOT'): save_small_png(ARTIFACT, SCREENSHOT)
    check_common(browser, site, errors)
    js = browser.execute_script
    assert js("return document.querySelector('nav.site-sidebar li.current a').getAttribute('href')") == '00_edm.html'
    images = js("return Array.from(document.querySelectorAll('main img')).map(i => i.complete && i.naturalWidth > 0)")
    assert images and all(images), f'figures missing or not loaded: {images}'
    api = set(js("return Array.from(document.querySelectorAll('.celltag_api-doc :is(h2, h3, h4)')).map(h => h.id)"))
    assert api & set(presto.edm.__all__), f'no API docs of exported functions; found {api}'


def test_index_page_in_browser(site, url, browser):
    check_common(browser, site, open_page(browser, f'{url}/index.html'))
    text = browser.execute_script("return document.querySelector('main').innerText")
    assert browser.title == 'presto' and 'make demo' in text and 'make test' in text


def save_small_png(src:Path, dst:Path, colors:int=128):
    "A palette PNG of screenshot `src` (a fraction of the size) at `dst`, for committing."
    from PIL import Image
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.open(src).convert('RGB').quantize(colors).save(dst, optimize=True)


def test_audio_players_in_browser(site, url, browser):
    "Notebook audio players (Ogg Vorbis, inline) are on the page and the browser can decode them."
    from selenium.webdriver.support.ui import WebDriverWait
    errors = open_page(browser, f'{url}/01_audio.html')
    assert errors == []
    js = browser.execute_script
    assert js("return document.createElement('audio').canPlayType('audio/ogg; codecs=vorbis')") != ''
    n = js("return document.querySelectorAll('main audio').length")
    assert n >= 1, 'no audio players on the audio page'
    js("document.querySelectorAll('main audio').forEach(a => a.load())")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('main audio')).every(a => a.readyState >= 1 || a.error)"),
        message='audio players did not load their metadata')
    state = js("return Array.from(document.querySelectorAll('main audio')).map(a => [a.error && a.error.code, a.duration])")
    assert all(err is None and dur > 0 for err, dur in state), f'players that cannot play: {state}'
