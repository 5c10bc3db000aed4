"""Build the documentation site offline: nbdev processes the notebooks, nbconvert renders them.

    python tools/build_site.py [--out _site] [--force] [--quarto]

1. nbdev's own doc processing (`nbdev.serve.proc_nbs`, what `nbdev-proc-nbs` runs) writes `_proc/`:
   it adds a `show_doc` cell after every exported function and executes those (plus the exported and
   import cells they need), and drops exported and `#| hide` cells. Other cells keep their stored outputs.
2. Each processed notebook is made plain nbconvert input (`prepare`): stored outputs lose the absolute
   paths of the machine they ran on (the checkout becomes `<repo>`, temporary folders `<tmp>`), widget
   views fall back to their text, cells get ids that depend only on their content, and every API entry
   (`document_api`) gets its full name as heading, a link to its line in the exported module, long
   default values shortened to their source text, and no docstring inherited from a parent class.
3. nbconvert's HTML exporter renders each page with `tools/site/templates/presto_site` (JupyterLab look,
   a sidebar with search, an on-page table of contents, previous/next links); `nbs/index.ipynb` becomes
   `index.html`. Links are then resolved against the ids the pages really have (nbdev's symbol links are
   lower-case, `.ipynb` links become `.html`, symbols with no API entry link to their source line).
4. Also written: `source/<lib>/<module>.py.html` (the exported modules, highlighted, one anchor per line),
   `assets/search-index.js` (page text and symbol names for the offline search in `assets/search.js`),
   `media/` (an MP3 copy of every Ogg Vorbis player, as a second `<source>` for browsers without Vorbis),
   and `assets/`: the JupyterLab CSS once, `site.css`, and the part of MathJax 2 (from the
   `jupyter-server-mathjax` package) that TeX input with HTML-CSS output and STIX-Web fonts needs, with
   its configuration in `assets/mathjax/config/local/presto.js`, so equations render with no network.

The output depends only on the notebooks and the code: two builds of one commit are byte-identical.
Open `_site/index.html`, or serve it: `python -m http.server -d _site`.

With `--quarto` (and only then) this runs nbdev's own `nbdev-docs` instead (site in `_docs/`, needs quarto;
`nbs/_quarto.yml` points its MathJax at the same local copy, which is then copied into `_docs/assets/`).
"""
import argparse, ast, base64, hashlib, html, io, json, os, posixpath, re, shutil, subprocess, sys, time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
from fastcore.nbio import NbCell, cell_frontmatter

ROOT = Path(__file__).resolve().parents[1]
SITE_SRC = Path(__file__).resolve().parent/'site'
# MathJax 2 files needed for TeX -> HTML-CSS with STIX-Web web fonts (2.3 MB of the package's 10.5 MB)
MATHJAX_PARTS = ['MathJax.js', 'LICENSE', 'config/TeX-AMS-MML_HTMLorMML-full.js', 'jax/element/mml',
                 'jax/output/HTML-CSS', 'fonts/HTML-CSS/STIX-Web/woff', 'extensions/TeX', 'extensions/HTML-CSS',
                 'extensions/MathMenu.js', 'extensions/MathZoom.js']
MATHJAX_CONFIG = 'TeX-AMS-MML_HTMLorMML-full,local/presto'  # `MathJax.js?config=` of every page (and of quarto's)
_cell_keys = {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
DEFAULT_MAX = 40  # longer default values in API signatures are shown as their source text, or `...`


# ---------------------------------------------------------------------------------------------- processing

def process_notebooks(root:Path, n_workers:int=2, force:bool=False) -> Path:
    "Run nbdev's doc processing of `root`'s notebooks; returns the `_proc` folder."
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    os.chdir(root)  # nbdev's workers read the config from the working directory
    try: return proc_nbs(str(get_config().nbs_path), n_workers=n_workers, force=force)
    except Exception as e:
        sys.exit(f"nbdev's doc processing failed: {e}\nIt runs exported cells, show_doc cells and every cell "
                 "with an import statement, in a kernel that has run only such cells: keep imports in cells of their own.")


# ----------------------------------------------------------------------------------------- stored outputs

_PATH_END = r'''(?=[/\s'"<>:,;)\]}]|$)'''
_ABS = r'(?<![\w.~/<>-])'  # where an absolute path may start: not inside a word, a relative path or a placeholder
# a checkout: the shortest prefix followed by what only a checkout of this project has
_CHECKOUT = re.compile(_ABS + r'((?:/[\w.+@-]+)+?)/(?:\.venv|nbs|data/checkpoints|outputs|\.cache/presto)' + _PATH_END)
_TMP = re.compile(_ABS + r'(?:/private)?(?:/tmp|/var/tmp|/var/folders/[^/\s]+/[^/\s]+/T)/[^/\s\'"<>:,;)\]}]+')
_DATA_URI = re.compile(r'(data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]*)')


def _out_texts(o):
    "(container, key) of every text an output shows: stream text, error, text/* data."
    if o.get('output_type') == 'stream': yield o, 'text'
    if o.get('output_type') == 'error':
        yield o, 'evalue'
        for i in range(len(o.get('traceback', []))): yield o['traceback'], i
    for k in o.get('data', {}):
        if k.startswith('text/'): yield o['data'], k


def checkout_roots(nbs, root:Path) -> list[str]:
    "Absolute checkout folders seen in the stored outputs of `nbs` (where they ran), and `root`; longest first."
    found = {str(root)}
    for nb in nbs:
        for cell in nb.cells:
            for o in cell.get('outputs', []):
                for c, k in _out_texts(o):
                    t = ''.join(c[k]) if isinstance(c[k], list) else c[k]
                    for part in _DATA_URI.split(t)[::2]: found.update(_CHECKOUT.findall(part))
    return sorted(found, key=len, reverse=True)


def sanitize_text(text:str, roots, mime:str='text/plain') -> str:
    "`text` with checkout folders `roots` as `<repo>` and temporary folders as `<tmp>` (escaped in HTML/markdown)."
    esc = mime in ('text/html', 'text/markdown')
    repo, tmp = ('&lt;repo&gt;', '&lt;tmp&gt;') if esc else ('<repo>', '<tmp>')
    def fix(s):
        for r in roots: s = re.sub(_ABS + re.escape(r) + _PATH_END, repo, s)
        return _TMP.sub(tmp, s)
    parts = _DATA_URI.split(text)
    return ''.join(p if i % 2 else fix(p) for i, p in enumerate(parts))


def sanitize_outputs(nb, roots):
    "Stored outputs without the machine's paths; widget views (no widget state is rendered) fall back to text."
    for cell in nb.cells:
        outs = []
        for o in cell.get('outputs', []):
            if WIDGET_VIEW in o.get('data', {}):
                del o['data'][WIDGET_VIEW]
                if not o['data']: continue
            for c, k in _out_texts(o):
                t = ''.join(c[k]) if isinstance(c[k], list) else c[k]
                c[k] = sanitize_text(t, roots, k if isinstance(k, str) else 'text/plain')
            outs.append(o)
        if cell.cell_type == 'code': cell.outputs = outs
    nb.metadata.pop('widgets', None)


def stable_ids(nb, keep:set):
    "Cell ids from the source notebook stay; cells nbdev added (random ids) get one derived from their source."
    seen = set()
    for cell in nb.cells:
        cid = cell.get('id')
        if cid not in keep or cid in seen:
            base = 'c' + hashlib.sha1(cell.source.encode()).hexdigest()[:8]
            cid, n = base, 1
            while cid in seen or cid in keep: cid, n = f'{base}-{n}', n + 1
            cell.id = cid
        seen.add(cid)


# ------------------------------------------------------------------------------------------------ symbols

def _decorator_names(node):
    for d in getattr(node, 'decorator_list', []):
        d = d.func if isinstance(d, ast.Call) else d
        yield d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ''


def _patched_classes(fn) -> list[str]:
    "The classes fastcore's `@patch` adds `fn` to (from its `self` annotation), or `@patch_to(C)`'s."
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and getattr(d.func, 'id', '') == 'patch_to' and d.args: return [ast.unparse(d.args[0])]
    if 'patch' not in _decorator_names(fn) or not fn.args.args or not fn.args.args[0].annotation: return []
    ann = fn.args.args[0].annotation
    if isinstance(ann, ast.Tuple): return [ast.unparse(e) for e in ann.elts]
    if isinstance(ann, ast.BinOp): return [ast.unparse(ann.left), ast.unparse(ann.right)]
    return [ast.unparse(ann)]


class Symbols:
    "What the exported modules define: each module's own source (ast), plus nbdev's index (`<lib>/_modidx.py`) of its links."
    def __init__(self, root:Path, lib:str, nbs_dir:Path|None=None):
        self.root, self.lib = Path(root), lib
        nbs_dir = Path(nbs_dir or self.root/'nbs').resolve()
        self.by_anchor = defaultdict(list)  # nbdev's link target ('text.html#textencoder.encode') -> [(file, qualname)]
        if (idx := self.root/lib/'_modidx.py').exists():
            tree = ast.parse(idx.read_text(encoding='utf-8'))
            d = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'd')
            for mod, syms in d['syms'].items():
                for key, (url, file) in syms.items(): self.by_anchor[url].append((file, key[len(mod) + 1:]))
        self.files_by_nb = defaultdict(list)  # notebook ('03_text.ipynb', relative to nbs/) -> the modules it exports
        for f in sorted((self.root/lib).rglob('*.py')):
            m = re.search(r'^# AUTOGENERATED! DO NOT EDIT! File to edit: (\S+?)\.?$', f.read_text(encoding='utf-8')[:2000], re.M)
            nb = (f.parent/m[1]).resolve() if m else None
            if nb and nb.is_relative_to(nbs_dir): self.files_by_nb[nb.relative_to(nbs_dir).as_posix()].append(f.relative_to(self.root).as_posix())
        self.files = sorted(f for fs in self.files_by_nb.values() for f in fs)
        self._defs, self._lines = {}, {}

    def source(self, file:str) -> str: return (self.root/file).read_text(encoding='utf-8')

    def segment(self, file:str, node) -> str:
        "The source text of `node` in `file` (`ast.get_source_segment`, without re-splitting the file each time)."
        if file not in self._lines: self._lines[file] = self.source(file).encode().splitlines(keepends=True)
        lines = self._lines[file][node.lineno - 1:node.end_lineno]
        if len(lines) == 1: return lines[0][node.col_offset:node.end_col_offset].decode()
        return (lines[0][node.col_offset:] + b''.join(lines[1:-1]) + lines[-1][:node.end_col_offset]).decode()

    def defs(self, file:str) -> dict:
        "qualname -> ast node of what `file` defines at the top level, in classes and with `@patch`."
        if file not in self._defs:
            out = {}
            for node in ast.parse(self.source(file)).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for c in _patched_classes(node) or [None]: out[f'{c}.{node.name}' if c else node.name] = node
                elif isinstance(node, ast.ClassDef):
                    out[node.name] = node
                    for sub in node.body:
                        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)): out.setdefault(f'{node.name}.{sub.name}', sub)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                        if isinstance(t, ast.Name): out.setdefault(t.id, node)
            self._defs[file] = out
        return self._defs[file]

    def find(self, name:str, nb:str|None=None):
        "(file, ast node) of symbol `name` (e.g. `TextEncoder.encode`), preferring the modules notebook `nb` exports."
        files = self.files_by_nb.get(nb, []) + self.files
        return next(((f, self.defs(f)[name]) for f in files if name in self.defs(f)), (None, None))

    @staticmethod
    def line(node) -> int: return min([node.lineno] + [d.lineno for d in getattr(node, 'decorator_list', [])])

    def defaults(self, file:str, node) -> dict:
        "Parameter name -> the source text of its default, for a function, or a class's `__init__` or dataclass fields."
        out, seg = {}, lambda n: self.segment(file, n)
        if isinstance(node, ast.ClassDef):
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == '__init__'), None)
            if init is None:
                return {n.target.id: seg(n.value) for n in node.body
                        if isinstance(n, ast.AnnAssign) and n.value is not None and isinstance(n.target, ast.Name)}
            node = init
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)): return out
        a = node.args
        pos = a.posonlyargs + a.args
        for arg, dflt in zip(pos[len(pos) - len(a.defaults):], a.defaults): out[arg.arg] = seg(dflt)
        for arg, dflt in zip(a.kwonlyargs, a.kw_defaults):
            if dflt is not None: out[arg.arg] = seg(dflt)
        return out


def source_href(file:str, line:int|None=None) -> str:
    "Site-relative URL of the highlighted copy of exported module `file` (at `line`)."
    return f'source/{file}.html' + (f'#L-{line}' if line else '')


def _split_default(sig:str, i:int) -> int:
    "End of the default value starting at `sig[i]`: the next `,`, `)` or line end outside brackets and strings."
    depth, quote = 0, None
    while i < len(sig):
        ch = sig[i]
        if quote:
            if ch == '\\': i += 1
            elif ch == quote: quote = None
        elif ch in '\'"': quote = ch
        elif ch in '([{': depth += 1
        elif ch in ')]}':
            if depth == 0: return i
            depth -= 1
        elif depth == 0 and ch in ',\n': return i
        i += 1
    return i


def shorten_defaults(sig:str, source:dict, limit:int=DEFAULT_MAX) -> str:
    "Signature `sig` (nbdev's `def f(...)`) with each default longer than `limit` replaced by its source text, or `...`."
    out, i, depth, quote, start = [], 0, 0, None, 0  # start: where the current parameter begins
    while i < len(sig):
        ch = sig[i]
        if quote:
            if ch == '\\': out.append(sig[i:i + 2]); i += 2; continue
            if ch == quote: quote = None
        elif ch in '\'"': quote = ch
        elif ch in '([{':
            depth += 1
            if depth == 1: start = i + 1
        elif ch in ')]}': depth -= 1
        elif ch == ',' and depth == 1: start = i + 1
        elif ch == '#' and depth == 1:  # a docments comment: copy to the end of the line
            j = sig.find('\n', i); j = len(sig) if j < 0 else j
            out.append(sig[i:j]); i = start = j; continue
        elif ch == '=' and depth == 1 and sig[i - 1] not in '=!<>' and sig[i + 1:i + 2] != '=':
            j = _split_default(sig, i + 1)
            value = sig[i + 1:j]
            if len(value.strip()) > limit:
                name = re.match(r'\s*\*{0,2}(\w+)', sig[start:i])
                src = ' '.join((source.get(name[1]) or '').split()) if name else ''
                value = src if src and len(src) <= limit else '...'
            out.append('=' + value); i = j; continue
        out.append(ch); i += 1
    return ''.join(out)


_SHOW_DOC = re.compile(r'show_doc\(\s*([\w.]+)')
_NBDEV_SOURCE = re.compile(r'^\[source\]\([^)]*\)\{[^}]*\}\s*$', re.M)
_DOC_HEADING = re.compile(r'^(#{2,6}) (.+)$', re.M)
_SIG = re.compile(r'```python\n(.*?)\n```', re.S)


def document_api(md:str, name:str, nb:str, symbols:Symbols, root:str='') -> str:
    "One `show_doc` markdown output, fixed: heading `name`, a source link, short defaults, no inherited docstring."
    md = _NBDEV_SOURCE.sub('', md)  # nbdev's quarto-only `[source](url){attrs}` (a GitHub URL, none set here)
    md = _DOC_HEADING.sub(lambda m: f'{m[1]} {name}', md, count=1)  # `TextEncoder.encode`, not `encode`
    file, node = symbols.find(name, nb)
    if node is None: return md
    link = f'<a class="source-link" href="{root}{source_href(file, Symbols.line(node))}">source</a>'
    md = _DOC_HEADING.sub(lambda m: f'{link}\n\n{m[0]}', md, count=1)
    defaults = symbols.defaults(file, node)
    md = _SIG.sub(lambda m: '```python\n' + shorten_defaults(m[1].replace('__main__.', ''), defaults) + '\n```', md, count=1)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(node) is None:
        m = _SIG.search(md)  # the docstring shown is a parent's (e.g. ValueError's): drop what follows the signature
        if m: md = md[:m.end()] + '\n'
    return md


# ------------------------------------------------------------------------------------------------- prepare

def prepare(nb) -> dict:
    "Turn a processed (quarto-flavoured) notebook into plain nbconvert input, in place; returns its frontmatter."
    fm, cells = {}, []
    for cell in nb.cells:
        for k in set(cell) - _cell_keys: del cell[k]  # nbdev's and execnb's bookkeeping is not nbformat
        cell.metadata.pop('execution', None)
        if cell.cell_type == 'raw' and (d := cell_frontmatter(cell.source)): fm.update(d); continue
        if cell.cell_type == 'markdown' and cell.source.startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
        if cell.cell_type == 'code':
            c = NbCell(0, cell); d = c.directives; c.remove_directives(); cell.source = c.source
            if d.get('include') == 'false': continue
            if d.get('output') == 'false': cell.outputs = []
            if 'show_doc(' in cell.source: cell.metadata.setdefault('tags', []).append('api-doc')
            if d.get('echo') == 'false' or not cell.source.strip():
                cell.metadata.setdefault('transient', {})['remove_source'] = True
        cells.append(cell)
    nb.cells = cells
    return fm


def document_cells(nb, rel:str, symbols:Symbols, root:str=''):
    "Apply `document_api` to the markdown output of every `show_doc` cell of `nb`."
    for cell in nb.cells:
        if 'api-doc' not in cell.metadata.get('tags', []) or not (m := _SHOW_DOC.search(cell.source)): continue
        for o in cell.get('outputs', []):
            if 'text/markdown' in o.get('data', {}):
                md = o['data']['text/markdown']
                o['data']['text/markdown'] = document_api(''.join(md) if isinstance(md, list) else md, m[1], rel, symbols, root)


def page_order(rel:Path): return (rel.as_posix() != 'index.ipynb', rel.as_posix())


# -------------------------------------------------------------------------------------------- after render

class PageScan(HTMLParser):
    "Ids, headings (for the contents and search) and the text of rendered markdown, section by section."
    VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.headings, self.sections = set(), [], [['', '', [], False]]  # [id, title, text parts, symbol]
        self.stack, self.heading = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        cls = (a.get('class') or '').split()
        in_main = any(t[0] == 'main' for t in self.stack) or tag == 'main'
        skip = tag in ('script', 'style', 'nav', 'header', 'pre') or 'anchor-link' in cls or 'source-link' in cls
        md = 'jp-RenderedMarkdown' in cls
        if re.fullmatch(r'h[2-4]', tag) and in_main and a.get('id') and not self._flag(1):
            api = any('celltag_api-doc' in t[3] for t in self.stack)
            self.heading = [a['id'], [], int(tag[1]), api]
        if tag not in self.VOID: self.stack.append((tag, skip, md, cls))

    def _flag(self, i): return any(t[i] for t in self.stack)

    def handle_endtag(self, tag):
        if self.heading and re.fullmatch(r'h[2-4]', tag):
            hid, parts, level, api = self.heading
            title = ' '.join(''.join(parts).split())
            self.headings.append((level, hid, title, api))
            self.sections.append([hid, title, [], api])
            self.heading = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag: del self.stack[i:]; break

    def handle_data(self, data):
        if self._flag(1): return
        if self.heading is not None: self.heading[1].append(data)
        elif self._flag(2): self.sections[-1][2].append(data)


def scan(html_text:str) -> PageScan:
    p = PageScan(); p.feed(html_text); p.close(); return p


def toc_html(headings) -> str:
    "The on-page contents: every h2 and h3 (sections and API entries), as nested lists."
    items = [(lvl, hid, title) for lvl, hid, title, _ in headings if lvl in (2, 3)]
    if not items: return ''
    out, open3 = ['<nav class="site-toc" aria-label="On this page"><p class="site-toc-title">On this page</p><ul>'], False
    for i, (lvl, hid, title) in enumerate(items):
        if lvl == 3 and not open3 and i: out[-1] = out[-1].removesuffix('</li>') + '<ul>'; open3 = True
        if lvl == 2 and open3: out.append('</ul></li>'); open3 = False
        out.append(f'<li class="toc-h{lvl}"><a href="#{html.escape(hid)}">{html.escape(title)}</a></li>')
    if open3: out.append('</ul></li>')
    out.append('</ul></nav>')
    return ''.join(out)


_A = re.compile(r'<a\b([^>]*?)\bhref="([^"]*)"([^>]*)>(.*?)</a>', re.S)
_TAGS = re.compile(r'<[^>]+>')


class Links:
    "Resolves a page's links against the ids the site's pages have (nbdev's anchors are lower-case)."
    def __init__(self, ids:dict, by_quarto_name:dict, doc_url:str, symbols:Symbols):
        self.ids, self.by_quarto_name, self.symbols = ids, by_quarto_name, symbols
        self.quarto_name = {v: k for k, v in by_quarto_name.items()}
        self.nbdev = re.compile(r'^' + re.escape(doc_url.rstrip('/')) + r'/([^#]+)(#.*)?$') if doc_url is not None else None
        self.lower = {p: defaultdict(list) for p in ids}
        for p, s in ids.items():
            for i in sorted(s): self.lower[p][i.lower()].append(i)
        self.unresolved = []

    def has(self, page:str, frag:str) -> bool: return frag in self.ids[page] or unquote(frag) in self.ids[page]

    def resolve(self, page:str, href:str, text:str) -> str:
        "`href` (on page `page`, link text `text`) pointing at an element that exists, if one can be found."
        path, hashed, frag = href.partition('#')
        up = '../' * page.count('/')
        if self.nbdev and (m := self.nbdev.match(href)) and m[1] in self.by_quarto_name: path = up + self.by_quarto_name[m[1]]
        elif self.nbdev and m and m[1] in self.ids: path = up + m[1]   # a page in a subfolder (commands/audio.html), named by its path
        elif re.match(r'^[a-z][a-z0-9+.-]*:|^//', href, re.I): return href
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
        if target not in self.ids and target.endswith('.ipynb') and target[:-len('.ipynb')] + '.html' in self.ids:
            path, target = path[:-len('.ipynb')] + '.html', target[:-len('.ipynb')] + '.html'
        if target not in self.ids:
            if not re.search(r'\.(png|jpe?g|svg|gif|mp3|wav|ogg|js|css|json|txt|py)$', target): self.unresolved.append((page, href))
            return href
        def at(f): return (path if target != page else '') + '#' + f
        if not hashed or not frag: return path or href
        name = html.unescape(_TAGS.sub('', text)).strip().removesuffix('()')
        code = re.fullmatch(r'\s*<code>[^<]*</code>\s*', text) is not None
        if code and name in self.ids[target]: return at(name)  # `Playground` (the class) vs `playground` (the function)
        if self.has(target, frag): return at(frag)
        if len(c := self.lower[target].get(frag.lower(), [])) == 1: return at(c[0])
        for file, qual in (self.symbols.by_anchor.get(f'{self.quarto_name.get(target, target)}#{frag}', [])
                           or self.symbols.by_anchor.get(f'{target}#{frag}', [])):
            if qual in self.ids[target]: return at(qual)
            node = self.symbols.defs(file).get(qual)
            if node is not None: return up + source_href(file, Symbols.line(node))  # no API entry (private, or a method)
        self.unresolved.append((page, href))
        return href

    def fix(self, page:str, html_text:str) -> str:
        "Every `<a href>` of page `page` resolved."
        def sub(m): return f'<a{m[1]}href="{html.escape(self.resolve(page, html.unescape(m[2]), m[4]))}"{m[3]}>{m[4]}</a>'
        return _A.sub(sub, html_text)


def search_entry(href:str, title:str, page:PageScan, limit:int=4000) -> dict:
    "A page's entry in the search index: its title, then one row per section: [id, heading, text, is API entry]."
    rows = []
    for hid, heading, parts, api in page.sections:
        text = ' '.join(''.join(parts).split())[:limit]
        if hid or text: rows.append([hid, heading, text, int(api)])
    return dict(href=href, title=title, sections=rows)


_OGG = re.compile(r'(<source\b[^>]*?\bsrc="data:audio/ogg;base64,([A-Za-z0-9+/=\s]+)"[^>]*>)')


def audio_fallbacks(html_text:str, out:Path, root:str) -> str:
    "After every inline Ogg Vorbis `<source>`, an MP3 copy in `media/` (a WAV if libsndfile cannot write MP3)."
    import soundfile as sf
    def add(m):
        ogg = base64.b64decode(m[2])
        wav, sr = sf.read(io.BytesIO(ogg), dtype='float32')
        mp3 = 'MP3' in sf.available_formats()
        buf = io.BytesIO()
        if mp3: sf.write(buf, wav, sr, format='MP3', subtype='MPEG_LAYER_III')
        else: sf.write(buf, wav, sr, format='WAV', subtype='PCM_16')
        name = f"{hashlib.sha256(ogg).hexdigest()[:16]}.{'mp3' if mp3 else 'wav'}"
        (out/'media').mkdir(parents=True, exist_ok=True)
        (out/'media'/name).write_bytes(buf.getvalue())
        return m[1] + f'\n<source src="{root}media/{name}" type="{"audio/mpeg" if mp3 else "audio/wav"}"/>'
    return _OGG.sub(add, html_text)


def sidebar_html(pages:list, root:str, name:str) -> str:
    "The site's navigation: its name, a search box and one link per page (`pages`: dicts of href, title, current)."
    cur = ' class="current"'
    items = ''.join(f'\n    <li{cur if p.get("current") else ""}><a href="{root}{p["href"]}">{html.escape(p["title"])}</a></li>'
                    for p in pages)
    return (f'<nav class="site-sidebar" aria-label="Pages">\n  <a class="site-name" href="{root}index.html">{html.escape(name)}</a>\n'
            f'  <div class="site-search"><input type="search" id="site-search" placeholder="Search" aria-label="Search the site" '
            f'autocomplete="off"><ol id="site-search-results"></ol></div>\n  <ul>{items}\n  </ul>\n</nav>')


def source_pages(out:Path, symbols:Symbols, name:str, pages:list, doc_pages:dict, css:str) -> list[Path]:
    "`source/<file>.html` for every exported module: highlighted, an anchor per line (`#L-12`), a link to its notebook."
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    written = []
    for file in symbols.files:
        root = '../' * len(Path(file).parts)
        side = sidebar_html(pages, root, name)
        code = highlight(symbols.source(file), PythonLexer(), HtmlFormatter(linenos='inline', lineanchors='L', anchorlinenos=True))
        doc = doc_pages.get(file)
        what = (f'Exported from <a href="{root}{doc[0]}">{html.escape(doc[1])}</a> by <code>nbdev-export</code>; '
                'edit the notebook, not this file.') if doc else 'Exported by <code>nbdev-export</code>.'
        page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"/>
<meta content="width=device-width, initial-scale=1.0" name="viewport"/>
<title>{html.escape(file)} - {html.escape(name)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}assets/lab.css">
<link rel="stylesheet" href="{root}assets/site.css">
<style type="text/css">{css}</style>
</head>
<body class="jp-Notebook source-page" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{side}
<main class="site-main">
<header class="page-header"><h1 class="page-title">{html.escape(file)}</h1>
<div class="page-description"><p>{what}</p></div></header>
<div class="source-code jp-RenderedHTMLCommon">{code}</div>
</main>
<script src="{root}assets/search-index.js"></script>
<script src="{root}assets/search.js" data-root="{root}"></script>
</body>
</html>
"""
        dst = out/source_href(file)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(page, encoding='utf-8')
        written.append(dst)
    return written


# ------------------------------------------------------------------------------------------------- render

def mathjax_local_config() -> str:
    "MathJax 2 configuration loaded as `config=...,local/presto`: local STIX-Web fonts only, no network."
    return r"""MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  displayAlign: "center", messageStyle: "none", menuSettings: {zoom: "None"}
});
MathJax.Hub.Register.StartupHook("End", function () { document.documentElement.dataset.mathjax = "done"; });
MathJax.Ajax.loadComplete("[MathJax]/config/local/presto.js");
"""


def write_mathjax(assets:Path):
    "The bundled MathJax subset and its local configuration, under `assets/mathjax`."
    import jupyter_server_mathjax
    mj_src, mj_dst = Path(jupyter_server_mathjax.__file__).parent/'static', assets/'mathjax'
    for part in MATHJAX_PARTS:
        src, dst = mj_src/part, mj_dst/part
        if src.is_dir(): shutil.copytree(src, dst, dirs_exist_ok=True)
        else: dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy(src, dst)
    (mj_dst/'config/local').mkdir(parents=True, exist_ok=True)
    (mj_dst/'config/local/presto.js').write_text(mathjax_local_config())


def write_assets(out:Path, exporter, index:list):
    "Shared CSS and JS, the search index and the bundled MathJax subset."
    assets = out/'assets'
    assets.mkdir(parents=True, exist_ok=True)
    lab = next(Path(p)/'static' for p in exporter.template_paths if (Path(p)/'static/index.css').exists())
    (assets/'lab.css').write_text((lab/'index.css').read_text() + (lab/'theme-light.css').read_text())
    shutil.copy(SITE_SRC/'site.css', assets/'site.css')
    shutil.copy(SITE_SRC/'search.js', assets/'search.js')
    data = json.dumps(index, ensure_ascii=False, separators=(',', ':'), sort_keys=True).replace('</', '<\\/')
    (assets/'search-index.js').write_text(f'window.PRESTO_SEARCH = {data};\n', encoding='utf-8')
    write_mathjax(assets)


def render_site(proc:Path, out:Path, name:str, doc_url:str, root_dir:Path=ROOT, lib:str='presto', nbs_dir:Path|None=None) -> list[Path]:
    "Render every notebook in `proc` (processed from `nbs_dir`, default `root_dir/nbs`) to `out`; returns the pages written."
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name='presto_site', extra_template_basedirs=[str(SITE_SRC/'templates')],
                            exclude_input_prompt=True, exclude_output_prompt=True)
    symbols = Symbols(root_dir, lib, nbs_dir)
    rels = sorted((p.relative_to(proc) for p in proc.rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts), key=page_order)
    nbs = {rel: nbformat.read(proc/rel, as_version=4) for rel in rels}
    fms = {rel: prepare(nb) for rel, nb in nbs.items()}
    hrefs = {rel: rel.with_suffix('.html').as_posix() for rel in rels}
    # nbdev links symbols to its quarto page names (`edm.html#c_skip`): point them at our pages
    quarto_names = {rel: fm.get('output-file', hrefs[rel]) for rel, fm in fms.items()}
    by_quarto_name = {quarto_names[rel]: hrefs[rel] for rel in rels}
    titles = {rel: fms[rel].get('title', rel.stem) for rel in rels}
    roots = checkout_roots(nbs.values(), root_dir)
    out.mkdir(parents=True, exist_ok=True)
    rendered, css = {}, ''
    for i, (rel, nb) in enumerate(nbs.items()):
        root = '../' * (len(rel.parts) - 1)
        src = Path(nbs_dir or root_dir/'nbs')/rel  # the source notebook: its cell ids are kept
        stable_ids(nb, {c.get('id') for c in nbformat.read(src, as_version=4).cells} if src.exists() else set())
        sanitize_outputs(nb, roots)
        document_cells(nb, rel.as_posix(), symbols, root)
        pages = [dict(href=hrefs[r], title=titles[r], current=r == rel) for r in rels]
        prev_, next_ = (pages[i - 1] if i else None), (pages[i + 1] if i + 1 < len(pages) else None)
        site = dict(name=name, root=root, pages=pages, title=titles[rel], description=fms[rel].get('description', ''),
                    sidebar=sidebar_html(pages, root, name), prev=prev_, next=next_,
                    mathjax_config=MATHJAX_CONFIG)
        body, resources = exporter.from_notebook_node(nb, resources=dict(site=site, metadata=dict(name=site['title'])))
        css = css or ''.join(resources.get('inlining', {}).get('css', []))
        rendered[rel] = body
    scans = {hrefs[rel]: scan(body) for rel, body in rendered.items()}
    ids = {href: s.ids for href, s in scans.items()}
    ids.update({source_href(f): {f'L-{n}' for n in range(1, symbols.source(f).count('\n') + 2)} for f in symbols.files})
    links = Links(ids, by_quarto_name, doc_url, symbols)
    written, index = [], []
    for rel, body in rendered.items():
        root, href = '../' * (len(rel.parts) - 1), hrefs[rel]
        body = links.fix(href, body)
        body = body.replace('<!-- site-toc -->', toc_html(scans[href].headings), 1)
        body = audio_fallbacks(body, out, root)
        dst = out/href
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(body, encoding='utf-8')
        written.append(dst)
        index.append(search_entry(href, titles[rel], scans[href]))
    if links.unresolved:
        print(f'warning: {len(links.unresolved)} links point at no page or element: ' +
              ', '.join(f'{p}: {h}' for p, h in links.unresolved[:20]), file=sys.stderr)
    doc_pages = {}
    for rel in rels:
        for f in symbols.files_by_nb.get(rel.as_posix(), []): doc_pages.setdefault(f, (hrefs[rel], titles[rel]))
    source_pages(out, symbols, name, [dict(href=hrefs[r], title=titles[r]) for r in rels], doc_pages, css)
    write_assets(out, exporter, index)
    return written


def build_site(root:Path=ROOT, out:Path|None=None, n_workers:int=2, force:bool=False) -> list[Path]:
    "Process and render the notebooks of the nbdev project at `root` into `out` (default `root/_site`)."
    from nbdev.config import get_config
    root = Path(root).resolve()
    out = Path(out).resolve() if out else root/'_site'
    proc = process_notebooks(root, n_workers=n_workers, force=force)
    cfg = get_config()
    if out.exists():
        if any(out.iterdir()) and not (out/'assets/site.css').exists(): sys.exit(f'{out} exists and is not a site built here')
        shutil.rmtree(out)
    doc_url = cfg.get('doc_host', '').rstrip('/') + cfg.get('doc_baseurl', '')  # where nbdev's symbol links point
    return render_site(proc, out, name=cfg.get('title', cfg.lib_name), doc_url=doc_url, root_dir=root, lib=cfg.lib_name,
                       nbs_dir=cfg.nbs_path)


def build_quarto(root:Path=ROOT) -> Path:
    "nbdev's regular site with quarto: `nbdev-docs` renders `nbs/` (with `nbs/_quarto.yml`) into `_docs/`, plus the local MathJax."
    subprocess.run([str(Path(sys.executable).parent/'nbdev-docs')], cwd=root, check=True)
    docs = Path(root)/'_docs'
    write_mathjax(docs/'assets')  # nbs/_quarto.yml's html-math-method url points here
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, help='output folder (default: _site in the project root)')
    ap.add_argument('--root', type=Path, default=ROOT, help='nbdev project root')
    ap.add_argument('--workers', type=int, default=2, help="nbdev's processing workers")
    ap.add_argument('--force', action='store_true', help='reprocess every notebook (ignore the _proc cache)')
    q = ap.add_mutually_exclusive_group()
    q.add_argument('--quarto', action='store_true', help="use nbdev-docs instead (needs quarto; site in _docs/)")
    q.add_argument('--no-quarto', action='store_true', help='the default: nbconvert, never quarto (kept for old scripts)')
    args = ap.parse_args()
    t0 = time.time()
    if args.quarto:
        if not shutil.which('quarto'): sys.exit('--quarto: quarto is not on PATH')
        print('building with nbdev-docs (quarto), as --quarto asks; math from the bundled MathJax in _docs/assets/mathjax', flush=True)
        return print(f'quarto site: {build_quarto(args.root)} ({time.time()-t0:.1f} s)')
    print('building with nbdev processing + nbconvert (offline)' +
          ('; quarto is on PATH but only used with --quarto' if shutil.which('quarto') else ''), flush=True)
    pages = build_site(args.root, args.out, n_workers=args.workers, force=args.force)
    print(f'site: {pages[0]} ({len(pages)} pages, {time.time()-t0:.1f} s); or serve it: python -m http.server -d {pages[0].parent}')


if __name__ == '__main__': main()
