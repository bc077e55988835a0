"""Run the CLI on each kind of bad input; print a Markdown table: case, exit code, message, files left.

python experiments/bad_inputs.py            # uses the shipped model; writes nothing outside a temp folder
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tokun-bad-"))
    good = tmp / "good.txt"
    good.write_text("a valid text ✓\n", encoding="utf-8")
    cases: list[tuple[str, list[str], bytes | None]] = []

    def case(name: str, args: list[str], stdin: bytes | None = None) -> None:
        cases.append((name, args, stdin))

    (tmp / "latin1.txt").write_bytes("café".encode("latin-1"))
    case("text: not UTF-8 (Latin-1)", ["encode", str(tmp / "latin1.txt"), "-o", str(tmp / "o1.safetensors")])
    case(
        "text: not UTF-8, --errors replace",
        ["encode", str(tmp / "latin1.txt"), "-o", str(tmp / "o2.safetensors"), "--errors", "replace"],
    )
    (tmp / "bom.txt").write_bytes(b"\xef\xbb\xbfBOM kept")
    case("text: UTF-8 BOM (kept as U+FEFF)", ["encode", str(tmp / "bom.txt"), "-o", str(tmp / "o3.safetensors")])
    (tmp / "utf16.txt").write_bytes("hello".encode("utf-16"))
    case("text: UTF-16 file", ["encode", str(tmp / "utf16.txt"), "-o", str(tmp / "o4.safetensors")])
    (tmp / "garbage.bin").write_bytes(os.urandom(4096))
    case("text: binary garbage", ["encode", str(tmp / "garbage.bin"), "-o", str(tmp / "o5.safetensors")])
    (tmp / "empty.txt").write_bytes(b"")
    case("text: empty file", ["encode", str(tmp / "empty.txt"), "-o", str(tmp / "o6.safetensors")])
    case("text: missing file", ["encode", str(tmp / "missing.txt"), "-o", str(tmp / "o7.safetensors")])
    case("text: a directory", ["encode", str(tmp), "-o", str(tmp / "o8.safetensors")])
    case(
        "text: lone surrogate (CESU-8 bytes)",
        ["encode", "-", "-o", str(tmp / "o9.safetensors")],
        "ok\udcff".encode("utf-8", "surrogatepass"),
    )
    save_file({"latents": torch.zeros(2, 100)}, str(tmp / "dim.safetensors"))
    case("latents: wrong dimension", ["decode", str(tmp / "dim.safetensors"), "-o", str(tmp / "t1.txt")])
    save_file({"latents": torch.zeros(2, 2, 256)}, str(tmp / "rank.safetensors"))
    case("latents: wrong rank", ["decode", str(tmp / "rank.safetensors"), "-o", str(tmp / "t2.txt")])
    save_file({"latents": torch.full((2, 256), float("nan"))}, str(tmp / "nan.safetensors"))
    case("latents: NaN values", ["decode", str(tmp / "nan.safetensors"), "-o", str(tmp / "t3.txt")])
    (tmp / "notst.safetensors").write_bytes(b"this is not safetensors")
    case("latents: not a safetensors file", ["decode", str(tmp / "notst.safetensors"), "-o", str(tmp / "t4.txt")])
    save_file({"embeddings": torch.zeros(2, 256)}, str(tmp / "name.safetensors"))
    case("latents: tensor under another name", ["decode", str(tmp / "name.safetensors"), "-o", str(tmp / "t5.txt")])
    save_file({"latents": torch.zeros(2, 256)}, str(tmp / "meta.safetensors"), metadata={"chars": "999"})
    case(
        "latents: metadata disagrees with tensor", ["decode", str(tmp / "meta.safetensors"), "-o", str(tmp / "t6.txt")]
    )
    save_file(
        {"latents": torch.zeros(2, 256)},
        str(tmp / "other.safetensors"),
        metadata={"model": "runs/other/model", "model_sha256": "0" * 16},
    )
    case("latents: made by another model", ["decode", str(tmp / "other.safetensors"), "-o", str(tmp / "t7.txt")])
    case("model: unknown name", ["encode", str(good), "-o", str(tmp / "m1.safetensors"), "--model", "4x17"])
    (tmp / "nomodel").mkdir()
    case(
        "model: directory without config.json",
        ["encode", str(good), "-o", str(tmp / "m2.safetensors"), "--model", str(tmp / "nomodel")],
    )
    case("output: folder does not exist", ["encode", str(good), "-o", str(tmp / "no" / "such" / "o.safetensors")])

    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    print("| case | exit | message (stderr) | files left |")
    print("|---|---:|---|---|")
    for name, args, stdin in cases:
        before = set(tmp.rglob("*"))
        proc = subprocess.run([sys.executable, "-m", "tokun", *args], input=stdin, capture_output=True, env=env)
        after = set(tmp.rglob("*"))
        left = ", ".join(sorted(p.name for p in after - before)) or "none"
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        msg = msg[-1] if msg else ""
        msg = msg.replace(str(tmp) + "/", "").replace("|", "\\|")
        print(f"| {name} | {proc.returncode} | `{msg}` | {left} |")


if __name__ == "__main__":
    main()
