"""Write README.md from nbs/index.ipynb, offline (`nbdev-readme` needs quarto).

    python tools/make_readme.py [--check] [--nb nbs/index.ipynb] [--out README.md]

Markdown cells are copied as they are; code cells become ```python blocks followed by their text
outputs. Cells flagged `#| hide` (or `#| include: false`), exported cells and `default_exp` are left
out, and nbdev/quarto directives (`#| ...`) are stripped. Image and HTML outputs are left out: the
README is plain text, the documentation site (`make docs`) shows them.
`--check` writes nothing and exits 1 if the README differs from what would be generated.
"""
import argparse, difflib, sys
from pathlib import Path

from fastcore.nbio import read_nb

ROOT = Path(__file__).resolve().parents[1]
NOTE = '<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py (`make readme`); do not edit -->'
HIDDEN = {'hide', 'export', 'exporti', 'exports', 'default_exp'}


def _text(o) -> str: return ''.join(o) if isinstance(o, list) else o

def _output_md(out) -> str:
    "One code-cell output as markdown: stream and text/plain fenced, text/markdown verbatim, the rest left out."
    if out.get('output_type') == 'stream': return f"```\n{_text(out['text']).rstrip()}\n```"
    data = out.get('data', {})
    if 'text/markdown' in data: return _text(data['text/markdown']).strip()
    if 'text/plain' in data and not data.keys() & {'image/png', 'image/jpeg', 'image/svg+xml', 'text/html'}:
        return f"```\n{_text(data['text/plain']).rstrip()}\n```"
    return ''


def cell_md(cell) -> list[str]:
    "Markdown blocks for one notebook cell (none for hidden ones)."
    d = cell.directives
    if d.keys() & HIDDEN or d.get('include') == 'false': return []
    if cell.cell_type == 'markdown': return [cell.source.strip()]
    if cell.cell_type != 'code': return []
    cell.remove_directives()
    blocks = [f"```python\n{cell.source.strip()}\n```"] if cell.source.strip() and d.get('echo') != 'false' else []
    if d.get('output') != 'false': blocks += [_output_md(o) for o in cell.get('outputs', [])]
    return blocks


def readme_text(nb_path:Path) -> str:
    "The README generated from notebook `nb_path`: title cell, a do-not-edit note, then the rest."
    blocks = [b for c in read_nb(nb_path).cells for b in cell_md(c) if b]
    return '\n\n'.join(blocks[:1] + [NOTE] + blocks[1:]) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nb', type=Path, default=ROOT/'nbs/index.ipynb', help='notebook to read')
    ap.add_argument('--out', type=Path, default=ROOT/'README.md', help='README to write or check')
    ap.add_argument('--check', action='store_true', help='exit 1 if --out is not what --nb generates')
    args = ap.parse_args()
    want = readme_text(args.nb)
    have = args.out.read_text() if args.out.exists() else ''
    if not args.check:
        args.out.write_text(want)
        return print(f'wrote {args.out} from {args.nb}')
    if have == want: return print(f'{args.out} is up to date with {args.nb}')
    diff = difflib.unified_diff(have.splitlines(), want.splitlines(), str(args.out), f'generated from {args.nb}', lineterm='', n=1)
    sys.exit(f'{args.out} is out of date with {args.nb}: run `make readme` (python tools/make_readme.py)\n' + '\n'.join(list(diff)[:40]))


if __name__ == '__main__': main()
