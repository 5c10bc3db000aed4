"A checkpoint save killed (SIGKILL) at every point inside it leaves a loadable checkpoint: the old save or the new one."
import json, subprocess, sys
import pytest, torch
from presto.checkpoint import load_checkpoint, save_checkpoint, checkpoint_paths

SCRIPT = r'''
import os, sys, torch
import presto.checkpoint as ck
stem, k = sys.argv[1], int(sys.argv[2])
a = {'w': torch.zeros(64, 64)}; b = {'w': torch.ones(64, 64)}
ck.save_checkpoint(stem, a, {'save': 'A'}, kind='toy')
ck._crash_at = lambda i: os.kill(os.getpid(), 9) if i == k else None
ck.save_checkpoint(stem, b, {'save': 'B'}, kind='toy')
'''

@pytest.mark.parametrize('point, expected', [(0, 'A'), (1, 'A'), (2, 'B'), (3, 'B')])   # 3: never reached, the save completes
def test_kill_inside_save(tmp_path, point, expected):
    stem = tmp_path / 'run' / 'model'
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(stem), str(point)], capture_output=True, text=True)
    assert r.returncode == (0 if point == 3 else -9), r.stderr
    tensors, cfg = load_checkpoint(stem, kind='toy')
    assert cfg['save'] == expected
    assert torch.equal(tensors['w'], torch.full((64, 64), 0. if expected == 'A' else 1.))
    save_checkpoint(stem, {'w': torch.full((64, 64), 2.)}, {'save': 'C'}, kind='toy')     # the next save settles and cleans up
    assert sorted(p.name for p in stem.parent.iterdir()) == ['model.json', 'model.safetensors']
    assert load_checkpoint(stem)[1]['save'] == 'C'

def test_committed_save_loads_before_the_rename(tmp_path):
    "After the JSON is replaced, but before the weights are renamed, loaders read the pending weights the JSON names."
    stem = tmp_path / 'm'
    save_checkpoint(stem, {'w': torch.zeros(3)}, {'save': 'A'}, kind='toy')
    w, c = checkpoint_paths(stem)
    sha = json.loads(c.read_text())['sha256']
    pending = w.with_name(f'm.pending-{sha[:16]}.safetensors')
    w.rename(pending)                                                     # as if killed between steps 2 and 3
    assert load_checkpoint(stem)[1]['save'] == 'A'
