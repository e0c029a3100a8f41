"""Confinement on real temporary trees: what may be read, what is refused and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollama_mcp_tray.server.confine import Confinement, Document, roots_from_uris
from ollama_mcp_tray.server.errors import MaterialError
from tests.server.material_tree import write


def paths_read(got) -> list[str]:
    return [d.path for d in got.documents]


def reasons(got) -> dict[str, str]:
    return {s.path: s.reason for s in got.skipped}


def test_a_deeper_gitignore_can_take_back_what_a_higher_one_ignores(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\n")
    write(tmp_path / "a.log", "a\n")
    write(tmp_path / "sub" / ".gitignore", "!keep.log\n")
    write(tmp_path / "sub" / "keep.log", "keep\n")
    write(tmp_path / "sub" / "drop.log", "drop\n")
    got = Confinement([tmp_path]).gather(["."])
    assert "sub/keep.log" in paths_read(got)
    assert reasons(got)["a.log"] == reasons(got)["sub/drop.log"] == "ignored by .gitignore"


def test_material_allow_lifts_gitignore_and_the_deny_list_for_what_it_matches(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "dist/\n")
    write(tmp_path / "dist" / "bundle.js", "x\n")
    write(tmp_path / "config" / "dev.env", "A=1\n")
    write(tmp_path / "config" / ".env", "B=2\n")
    got = Confinement([tmp_path], allow_patterns=["dist/", "config/dev.env"]).gather(["."])
    assert {"dist/bundle.js", "config/dev.env"} <= set(paths_read(got))
    assert "environment file" in reasons(got)["config/.env"]


def test_a_symlinked_folder_is_not_followed_and_a_link_out_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "out"
    write(outside / "x.txt", "outside\n")
    write(root / "a.txt", "a\n")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "x.txt").symlink_to(outside / "x.txt")
    rules = Confinement([root])
    got = rules.gather(["."])
    assert paths_read(got) == ["a.txt"]
    assert reasons(got) == {
        "linked/": "not followed: symlinked folder",
        "x.txt": "refused: symlink pointing outside the allowed folders",
    }
    with pytest.raises(MaterialError, match="outside the folders"):
        rules.gather(["linked/x.txt"])


def test_a_missing_path_outside_the_roots_is_called_outside_not_missing(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    rules = Confinement([tmp_path / "root"])
    with pytest.raises(MaterialError, match="outside the folders") as outside:
        rules.locate(str(tmp_path / "secret-folder" / "nope.txt"))
    assert str(tmp_path / "root") in str(outside.value)
    with pytest.raises(MaterialError, match="does not exist"):
        rules.locate("nope.txt")


def test_content_checks_refuse_private_keys_non_utf8_and_token_bearing_package_files(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "hello\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n")
    write(tmp_path / "latin1.txt", "caf\xe9\n".encode("latin-1"))
    write(tmp_path / ".pypirc", "[pypi]\npassword = pypi-AgEI\n")
    write(tmp_path / "sub" / ".npmrc", "registry=https://registry.npmjs.org/\n")
    got = Confinement([tmp_path]).gather(["."])
    assert reasons(got) == {
        "notes.txt": "refused: holds a private key",
        "latin1.txt": "refused: not UTF-8 text",
        ".pypirc": "refused: holds a token or password",
    }
    assert paths_read(got) == ["sub/.npmrc"]


def test_the_total_cap_stops_reading_and_says_so(tmp_path: Path) -> None:
    for n in range(5):
        write(tmp_path / f"f{n}.txt", "x" * 100 + "\n")
    got = Confinement([tmp_path], max_total_bytes=250).gather(["."])
    assert paths_read(got) == ["f0.txt", "f1.txt", "f2.txt"]
    assert reasons(got)["f4.txt"] == "not read: the 250-byte total was reached"


def test_absolute_globs_work_inside_a_root_and_nested_roots_show_paths_from_the_deepest(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "c.py", "c\n")
    write(tmp_path / "a" / "d.py", "d\n")
    rules = Confinement([tmp_path / "a", tmp_path / "a" / "b"])
    got = rules.gather([f"{tmp_path}/a/**/*.py"])
    assert sorted(paths_read(got)) == ["a/d.py", "b/c.py"]


def test_each_document_keeps_its_bytes_and_text(tmp_path: Path) -> None:
    write(tmp_path / "u.txt", "é\n")
    assert Confinement([tmp_path]).gather(["u.txt"]).documents == [Document("u.txt", "é\n", 3)]


def test_root_uris_are_decoded_and_other_schemes_ignored() -> None:
    assert roots_from_uris(["file:///home/me/my%20project", "https://example.com/x", "file:///srv"]) == [
        Path("/home/me/my project"),
        Path("/srv"),
    ]


def test_without_any_folder_every_path_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MaterialError, match="allowed_folders"):
        Confinement([]).gather(["."])
