"""The competition validator: each planted leak or breakage is reported precisely."""

import csv
import shutil

import pytest

from data_tools.check import Problem, check_competition
from data_tools.errors import DataToolsError
from facekit.base import contract
from facekit.cli.main import main


def read_rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


def test_image_copied_into_two_splits(competition_copy):
    """A training image copied into the test folder is a cross-split duplicate."""
    comp, keys = competition_copy
    train_image = sorted((comp / contract.CLS_TRAIN).glob("*/*"))[0]
    shutil.copy(train_image, comp / contract.CLS_TEST / "0123456789abcdef0123.jpg")
    problems = check_competition(comp)
    duplicates = [p for p in problems if p.code == "duplicate-image"]
    assert len(duplicates) == 1
    assert train_image.relative_to(comp).as_posix() in str(duplicates[0])
    assert f"{contract.CLS_TEST}/0123456789abcdef0123.jpg (test)" in duplicates[0].message


def test_identity_in_both_classification_and_verification(competition_copy):
    """A verification image whose (hidden) identity is a classification identity."""
    comp, keys = competition_copy
    cls_identity = sorted(p.name for p in (comp / contract.CLS_TRAIN).iterdir())[0]
    owners = read_rows(keys / contract.KEYS_VER_IMAGES)
    moved = owners[0]["image"]
    for row in owners:
        if row["identity"] == owners[0]["identity"]:
            row["identity"] = cls_identity
    write_rows(keys / contract.KEYS_VER_IMAGES, owners)
    problems = check_competition(comp, keys)
    overlap = [p for p in problems if p.code == "identity-overlap"]
    assert overlap and overlap[0].path == f"{contract.VER_IMAGES}/{moved}"
    assert f"identity {cls_identity!r} is in both classification and verification" in str(
        overlap[0]
    )


@pytest.mark.parametrize(
    ("folder", "key_file", "name_column", "identity_column"),
    [
        (contract.CLS_TEST, contract.KEYS_CLS, "id", "label"),
        (contract.VER_IMAGES, contract.KEYS_VER_IMAGES, "image", "identity"),
    ],
)
def test_file_named_after_its_identity(
    competition_copy, folder, key_file, name_column, identity_column
):
    """A test or verification image renamed after its identity is reported as revealing it."""
    comp, keys = competition_copy
    row = read_rows(keys / key_file)[0]
    old, identity = row[name_column], row[identity_column]
    (comp / folder / old).rename(comp / folder / f"{identity}_0001.jpg")
    problems = check_competition(comp, keys)
    revealing = [p for p in problems if p.code == "revealing-name"]
    assert revealing == [
        Problem(
            "revealing-name",
            f"{folder}/{identity}_0001.jpg",
            f"file name reveals identity {identity!r}",
        )
    ]


def test_pair_pointing_at_missing_image(competition_copy):
    """Deleting a verification image breaks every pair that uses it, each reported by line."""
    comp, keys = competition_copy
    pair = read_rows(comp / contract.VAL_PAIRS)[0]
    (comp / contract.VER_IMAGES / pair["image_a"]).unlink()
    problems = check_competition(comp)
    missing = [p for p in problems if p.code == "missing-pair-image"]
    assert missing[0].path == f"{contract.VAL_PAIRS}:2"
    assert f"pair {pair['pair_id']} points at missing image" in missing[0].message
    assert "checksum" in codes(problems)


def test_edited_file_fails_the_manifest_checksum(competition_copy):
    """A changed or an unlisted file is caught by the manifest checksums."""
    comp, _ = competition_copy
    (comp / contract.SAMPLE_VER).write_text((comp / contract.SAMPLE_VER).read_text() + "\n")
    (comp / "extra.txt").write_text("hello")
    problems = [str(p) for p in check_competition(comp)]
    assert f"{contract.SAMPLE_VER}: sha256 differs from the manifest [checksum]" in problems
    assert "extra.txt: file is not listed in the manifest [checksum]" in problems


def test_keys_that_do_not_match_the_public_files(competition_copy):
    """A key row dropped, a bad usage, a val/test image shared: each reported."""
    comp, keys = competition_copy
    key_rows = read_rows(keys / contract.KEYS_CLS)
    dropped = key_rows.pop(0)["id"]
    key_rows[0]["usage"] = "Secret"
    write_rows(keys / contract.KEYS_CLS, key_rows)
    problems = [str(p) for p in check_competition(comp, keys)]
    assert (
        f"<keys>/{contract.KEYS_CLS}: no row for test image {dropped!r} [keys-mismatch]" in problems
    )
    # The scorer's own key validator, at the physical line of the first data row.
    assert (
        f"<keys>/{contract.KEYS_CLS}:2: usage: expected one of ('Public', 'Private'), "
        "found 'Secret' [bad-csv]" in problems
    )


def test_val_and_test_pairs_sharing_an_image(competition_copy):
    """An image used by both val and test pairs leaks labels from one to the other."""
    comp, _ = competition_copy
    val = read_rows(comp / contract.VAL_PAIRS)
    test = read_rows(comp / contract.TEST_PAIRS)
    test[0]["image_a"] = val[0]["image_a"]
    write_rows(comp / contract.TEST_PAIRS, test)
    problems = check_competition(comp)
    assert (
        Problem(
            "split-leak",
            f"{contract.VER_IMAGES}/{val[0]['image_a']}",
            "image is used by both val and test pairs",
        )
        in problems
    )


def test_missing_parts_and_malformed_csv(competition_copy):
    """A removed folder and a wrong header are reported, not crashed on."""
    comp, _ = competition_copy
    shutil.rmtree(comp / contract.CLS_DEV)
    (comp / contract.TEST_PAIRS).write_text("pair,a,b\n1,x,y\n")
    problems = [str(p) for p in check_competition(comp)]
    assert f"{contract.CLS_DEV}: required directory is missing [missing]" in problems
    expected = ",".join(contract.TEST_PAIRS_HEADER)
    assert (
        f"{contract.TEST_PAIRS}:1: wrong header: expected '{expected}', found 'pair,a,b' "
        "(is the header row missing?) [bad-csv]" in problems
    )


def _with_lines_before_last(path, inserted: list[str], last: str) -> int:
    """Rewrite `path` with `inserted` lines before a new `last` row; its physical line number."""
    lines = path.read_text().splitlines()
    lines += [*inserted, last]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


@pytest.mark.parametrize(
    "inserted",
    [
        pytest.param([""], id="blank-line"),
        pytest.param(["", "   "], id="blank-lines"),
        pytest.param(["val_99998,onlyone"], id="incomplete-row"),
        pytest.param(["", "val_99998,onlyone", ""], id="blank-and-incomplete"),
        pytest.param(['"val_99997,quoted', 'across,lines",x,1'], id="quoted-newline"),
    ],
)
def test_pair_problems_name_the_physical_line(competition_copy, inserted):
    """After blank, incomplete or multi-line rows, a bad row is reported at the line an editor
    shows (the scorer's CSV reader), not at its count of rows."""
    comp, _ = competition_copy
    path = comp / contract.VAL_PAIRS
    image = read_rows(path)[0]["image_a"]
    line = _with_lines_before_last(path, inserted, f"val_99999,{image},{image},1")
    problems = [str(p) for p in check_competition(comp)]
    assert (
        f"{contract.VAL_PAIRS}:{line}: pair val_99999 pairs an image with itself [bad-pair]"
        in problems
    ), problems


@pytest.mark.parametrize(
    "inserted",
    [pytest.param([""], id="blank-line"), pytest.param(["test_00000"], id="incomplete-row")],
)
def test_incomplete_row_reported_at_its_line(competition_copy, inserted):
    """A row with too few fields is itself reported at its physical line."""
    comp, _ = competition_copy
    path = comp / contract.SAMPLE_VER
    line = _with_lines_before_last(path, inserted, "extra_pair,0.5")
    problems = [str(p) for p in check_competition(comp)]
    assert (
        f"{contract.SAMPLE_VER}:{line}: id 'extra_pair' is not one of the test pairs "
        "[keys-mismatch]" in problems
    ), problems
    if inserted[0]:
        header = ",".join(contract.SUBMISSION_COLUMNS[contract.VERIFICATION])
        assert (
            f"{contract.SAMPLE_VER}:{line - 1}: expected 2 fields ({header}), found 1 [bad-csv]"
            in problems
        ), problems


def test_key_file_problems_name_the_physical_line(competition_copy):
    """Key files go through the scorer's key validator: a bad label after a blank line is
    reported at its physical line."""
    comp, keys = competition_copy
    path = keys / contract.KEYS_VER
    rows = read_rows(path)
    line = _with_lines_before_last(path, ["", ""], f"{rows[0]['pair_id']}x,2,Public")
    problems = [str(p) for p in check_competition(comp, keys)]
    assert (
        f"<keys>/{contract.KEYS_VER}:{line}: label: expected 0 or 1, found '2' [bad-csv]"
        in problems
    ), problems


def test_unreadable_image(competition_copy):
    """A test image whose bytes are not an image is reported by name."""
    comp, _ = competition_copy
    victim = sorted((comp / contract.CLS_TEST).iterdir())[0]
    victim.write_bytes(b"GIF? no")
    problems = check_competition(comp)
    unreadable = [p for p in problems if p.code == "unreadable-image"]
    assert [p.path for p in unreadable] == [victim.relative_to(comp).as_posix()]


def test_not_a_directory_is_an_error(tmp_path):
    with pytest.raises(DataToolsError, match="does not exist"):
        check_competition(tmp_path / "nowhere")


def test_cli_exit_codes(competition_copy, capsys):
    """`facekit data check` exits 0 when clean, 1 with problems listed, 2 on bad input."""
    comp, keys = competition_copy
    assert main(["data", "check", str(comp), "--keys", str(keys)]) == 0
    assert "no problems found" in capsys.readouterr().out
    (comp / contract.MANIFEST).write_text("{not json")
    assert main(["data", "check", str(comp)]) == 1
    assert "not a valid manifest" in capsys.readouterr().err
    assert main(["data", "check", str(comp / "nowhere")]) == 2
    assert "Traceback" not in capsys.readouterr().err
