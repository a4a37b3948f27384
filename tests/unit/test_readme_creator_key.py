"""The README's TypeScript creator key gives the committed vectors (run with Node when it is
installed: the web app's developers copy that snippet)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"<!-- creator-key.ts -->\n```ts\n(.*?)```", text, re.DOTALL)[1]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_the_typescript_key_matches_the_vectors(tmp_path):
    # the snippet's only TypeScript is its parameter and return annotations
    module = re.sub(r"\): string", ")", _snippet())
    module = module.replace("creator: string, secret?: string", "creator, secret")
    assert ": string" not in module
    (tmp_path / "key.mjs").write_text(module, encoding="utf-8")
    vectors = json.dumps(str(ROOT / "docs" / "creator_key_vectors.json"))
    check = (
        f"import {{ creatorKey }} from {json.dumps(str(tmp_path / 'key.mjs'))};\n"
        "import fs from 'node:fs';\n"
        f"const v = JSON.parse(fs.readFileSync({vectors}));\n"
        "console.log(JSON.stringify(v.vectors.map(x => [creatorKey(x.creator) === x.sha256,"
        " creatorKey(x.creator, v.secret) === x.hmacSha256])));\n"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", check], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) >= 10 and all(a and b for a, b in results)
