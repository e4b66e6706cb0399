"""The command line's rough edges, as a user meets them: output paths in missing folders, bad or busy ports,
a label constraint on one class, a missing or foreign import archive, and a reader that stops early."""

import os
import socket
import subprocess
import sys

import pytest
from test_cli import assert_one_line_error, cli

from rbm_explorer.cli.common import UserError, output_directory, output_file


# --- output paths --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["sample", "ising32_single_hidden", "--out", "OUT"],
        ["morph", "mnist01_linear_released1", "--out", "OUT"],
        ["train", "--dataset", "bars4", "--out", "OUT"],
        ["import", "run.h5", "--out", "OUT"],
        ["datasets", "show", "bars4", "--out", "OUT"],
    ],
    ids=lambda args: args[0],
)
def test_an_output_file_in_a_missing_folder_is_refused_and_no_folder_is_made(tmp_path, args):
    missing = tmp_path / "missing" / "dir"
    result = cli(*[str(missing / "x.npz") if a == "OUT" else a for a in args], check=False)
    assert_one_line_error(result, f"folder {missing} does not exist")
    assert not (tmp_path / "missing").exists()


def test_train_checks_its_checkpoint_folder_too(tmp_path):
    result = cli("train", "--dataset", "bars4", "--out", tmp_path / "m.npz", "--checkpoint",
                 tmp_path / "nowhere" / "c.npz", check=False)
    assert_one_line_error(result, f"--checkpoint {tmp_path / 'nowhere' / 'c.npz'}: folder")


def test_output_file_needs_an_existing_folder_and_a_file_name(tmp_path):
    assert output_file(tmp_path / "x.npz") == tmp_path / "x.npz"
    with pytest.raises(UserError, match="folder .*missing does not exist"):
        output_file(tmp_path / "missing" / "x.npz")
    with pytest.raises(UserError, match="is a folder"):
        output_file(tmp_path)


def test_output_directory_makes_one_level_under_an_existing_parent(tmp_path):
    made = output_directory(tmp_path / "run")
    assert made.is_dir() and output_directory(made) == made  # an existing folder is fine
    with pytest.raises(UserError, match="folder .*nope does not exist"):
        output_directory(tmp_path / "nope" / "run")
    assert not (tmp_path / "nope").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        output_directory(tmp_path / "file")


# --- serve ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("port", ["99999", "0", "-1", "abc"])
def test_serve_rejects_a_port_outside_1_to_65535_while_parsing(port):
    result = cli("serve", "--port", port, check=False)
    assert result.returncode == 2
    assert "argument --port: a port is a number from 1 to 65535" in result.stderr
    assert "ERROR" not in result.stderr and "serving:" not in result.stderr


@pytest.mark.parametrize("flag", ["--max-sessions", "--max-training-runs"])
def test_serve_refuses_a_bound_below_one(flag):
    result = cli("serve", flag, "0", check=False)
    assert result.returncode == 2
    assert f"{flag} must be at least 1, got 0" in result.stderr and "serving:" not in result.stderr


def test_serve_on_a_port_in_use_says_so_and_exits_2():
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--port", port, check=False)  # timeout 300 s: a server that started would hang it
    assert_one_line_error(result, f"port {port} is in use")


# --- train ---------------------------------------------------------------------------------------------------
def test_a_label_constraint_on_one_digit_is_explained_in_the_users_terms(tmp_path):
    result = cli("train", "--dataset", "mnist", "--digits", "7", "--constraint", "linear", "--epochs", "1",
                 "--out", tmp_path / "m.npz", check=False)
    assert_one_line_error(result, "a label constraint (--constraint linear) needs at least two classes; "
                                  "--digits 7 gives one")
    assert "class_vectors" not in result.stderr and not (tmp_path / "m.npz").exists()


# --- import --------------------------------------------------------------------------------------------------
def test_import_names_a_missing_file_and_a_file_that_is_not_an_rbms_archive(tmp_path):
    import h5py

    out = tmp_path / "m.npz"
    assert_one_line_error(cli("import", tmp_path / "missing.h5", "--out", out, check=False),
                          f"{tmp_path / 'missing.h5'}: no such file")
    (tmp_path / "junk.h5").write_text("not hdf5")
    assert_one_line_error(cli("import", tmp_path / "junk.h5", "--out", out, check=False),
                          "junk.h5: not an HDF5 archive of the rbms package (not an HDF5 file)")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("something", data=[1, 2])
    result = cli("import", tmp_path / "other.h5", "--out", out, check=False)
    assert_one_line_error(result, "other.h5: not an HDF5 archive of the rbms package")
    for internals in ("errno", "synchronously", "signature"):
        assert internals not in result.stderr
    assert not out.exists()


# --- a reader that stops early ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["datasets"], ["info", "ising32_single_hidden"]], ids=lambda a: a[0])
def test_a_closed_pipe_ends_the_command_quietly(args):
    """``rbm-explorer datasets | head``: stdout is a pipe whose reader has gone (its read end is closed before
    the command writes anything, so the write fails whatever the pipe's buffer size)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "rbm_explorer.cli.main", *args], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 1
