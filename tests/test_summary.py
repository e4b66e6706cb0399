"""The model summary (``rbm_explorer.io.summary``) as text for ``rbm-explorer info`` and as data, and the reserved
metadata keys of the file format, kept in one place (``reserved_metadata_keys``)."""

from __future__ import annotations

from conftest import tiny_rbm

from rbm_explorer.catalog import safe_stem, upload_target
from rbm_explorer.io import load_model, reserved_metadata_keys, save_model, summarize
from rbm_explorer.io.summary import text_table
from rbm_explorer.layers import option_names


def test_reserved_keys_are_the_format_keys_and_every_kind_option():
    reserved = reserved_metadata_keys()
    assert {"format", "format_version", "visible_kind", "hidden_kind"} <= reserved
    assert option_names() <= reserved and "q" in reserved
    assert "image_shape" not in reserved and "description" not in reserved


def test_reserved_keys_are_neither_other_metadata_nor_savable_with_other_values(tmp_path):
    path = save_model(tmp_path / "p.npz", tiny_rbm("potts", "binary"), {"note": "kept", "w_star": 0.5})
    model = load_model(path)
    other = dict(summarize(model).tables["Other metadata"]["rows"])
    assert other == {"note": "kept", "w star": "0.5"}  # q, the kinds and the format keys are not repeated
    assert not reserved_metadata_keys() & {key.replace(" ", "_") for key in other}
    try:
        save_model(tmp_path / "x.npz", model.rbm, {**model.metadata, "q": 7})
    except ValueError as exc:
        assert "['q']" in str(exc)
    else:
        raise AssertionError("a q that disagrees with the model must be refused")


def test_text_tables_align_columns_and_show_notes():
    table = {"columns": ["unit", "class"], "rows": [["0", "class 10"], ["12", "x"]], "note": ""}
    assert text_table(table, indent="  ") == ["  unit  class", "  0     class 10", "  12    x"]
    key_value = {"columns": ["", ""], "rows": [["kind", "linear"], ["free units", "0"]], "note": ""}
    assert text_table(key_value) == ["kind        linear", "free units  0"]
    assert text_table({"columns": [], "rows": [], "note": "No metrics recorded."}) == ["No metrics recorded."]


def test_upload_names_stay_in_the_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path))
    assert safe_stem("C:\\fakepath\\my model.npz") == "my_model"
    assert safe_stem("../../etc/evil name.NPZ") == "evil_name" and safe_stem("..npz") == "uploaded_model"
    first = upload_target("../m.npz", b"one")
    assert first == tmp_path / "models" / "m.npz" and first.parent.is_dir()
    first.write_bytes(b"one")
    assert upload_target("m.npz", b"one") == first  # the same content: the same file
    assert upload_target("m.npz", b"two") == tmp_path / "models" / "m-2.npz"  # other content: never overwritten
    assert first.read_bytes() == b"one"
