"""Each student's work is their own: owners' folders, what an owner sees, the shared read-only folders, the
identity a session gets (cookie or login name), and ``serve --shared-models``. The served page with two browsers
is the browser test at the end (two contexts, two cookies).

Training runs here are tiny (MNIST 0/1, 16 hidden units, one Gibbs step) and every wait polls a condition with a
generous timeout.
"""

from pathlib import Path

import pytest
from browser_support import chromium_contexts, served_app, wait_until, watched_page
from conftest import tiny_rbm

from rbm_explorer.app.budget import Budget
from rbm_explorer.app.identity import COOKIE_NAME, resolve_identity, valid_browser_id
from rbm_explorer.app.models_state import ModelsSession, catalogue_choices
from rbm_explorer.app.pages import ExplorerSession, Page
from rbm_explorer.app.train_state import TrainSession
from rbm_explorer.catalog import (SHARED_MODELS_ENV, catalog, check_owner, checkpoints_dir, current_owner, families,
                                  newest_checkpoint, origin_of, owned_by, owner_for_user, save_target, upload_target,
                                  user_models_dir)
from rbm_explorer.cli import main as cli_main
from rbm_explorer.cli.common import UserError
from rbm_explorer.cli.serve import serve_environment
from rbm_explorer.io import save_model
from rbm_explorer.resources import assets_dir

ALICE, BOB = "alice-browser-id-0001", "bob-browser-id-00002"
TINY = dict(dataset="mnist", digits="0,1", hidden=16, epochs=3, batch_size=100, chains=64, gibbs_steps=1,
            learning_rate=0.02, constraint="linear", released=1, max_updates_per_second=25)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh RBM_EXPLORER_HOME, and a teacher's folder shared with everyone."""
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(SHARED_MODELS_ENV, str(tmp_path / "teacher"))
    (tmp_path / "teacher").mkdir()
    return tmp_path / "home"


def model_at(path: Path, seed: int, n_visible: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_model(path, tiny_rbm("binary", "binary", seed=seed, n_visible=n_visible, n_hidden=4),
                      {"description": f"test model {path.stem}"})


def user_files(owner) -> dict[str, str]:
    """name -> origin of the non-bundled models ``owner`` sees."""
    return {e.name: e.origin for e in catalog(owner=owner) if not e.bundled}


# --- folders and what an owner sees ------------------------------------------------------------------------------
def test_owner_folders_are_disjoint_and_no_owner_keeps_todays_folders(home):
    assert user_models_dir(None) == home / "models" and checkpoints_dir(None) == home / "checkpoints"
    assert user_models_dir() == home / "models"  # outside owned_by calls act for nobody: the command line's
    a, b = user_models_dir(ALICE), user_models_dir(BOB)
    assert a == home / "owners" / ALICE / "models" and checkpoints_dir(ALICE) == home / "owners" / ALICE / "checkpoints"
    folders = {a, b, checkpoints_dir(ALICE), checkpoints_dir(BOB), user_models_dir(None), checkpoints_dir(None)}
    assert len(folders) == 6
    assert not any(x != y and (x in y.parents or y in x.parents) for x in folders for y in folders)
    with owned_by(BOB):
        assert current_owner() == BOB and user_models_dir() == b and checkpoints_dir() == checkpoints_dir(BOB)
    assert current_owner() is None


@pytest.mark.parametrize("bad", ["../x", "/", "", ".", "..", "a/b", "a\\b", "x" * 81, "a b", None, 3])
def test_owner_ids_that_could_name_another_folder_are_refused(bad):
    with pytest.raises(ValueError, match="not a valid owner id"):
        check_owner(bad)
    if bad is not None:  # None is no owner: the command line's folders
        with pytest.raises(ValueError):
            user_models_dir(bad)


def test_login_names_map_to_safe_distinct_owner_ids():
    names = ["alice", "Alice", "../../etc", "Zoë Smith", "a/b", "", "x" * 300]
    owners = [owner_for_user(n) for n in names]
    assert len(set(owners)) == len(names) and all(check_owner(o) == o for o in owners)
    assert owners[0].startswith("user-alice-") and owners[3].startswith("user-Zo_Smith-")
    assert owner_for_user("alice") == owners[0]  # the same name, the same folder, at every login


def test_an_owner_sees_bundled_own_and_shared_models_but_not_another_owners(home, tmp_path):
    model_at(user_models_dir(ALICE) / "alice_model.npz", 1)
    model_at(user_models_dir(BOB) / "bob_model.npz", 2)
    model_at(tmp_path / "teacher" / "teacher_model.npz", 3)
    model_at(user_models_dir(None) / "cli_model.npz", 4)
    bundled = {p.stem for p in (assets_dir() / "models").glob("*.npz")}
    assert bundled <= {e.name for e in catalog(owner=ALICE) if e.origin == "bundled"}
    assert user_files(ALICE) == {"alice_model": "own", "teacher_model": "shared", "cli_model": "shared"}
    assert user_files(BOB) == {"bob_model": "own", "teacher_model": "shared", "cli_model": "shared"}
    assert user_files(None) == {"cli_model": "own", "teacher_model": "shared"}  # the machine's user, as today
    entries = {e.name: e for e in catalog(owner=ALICE)}
    assert not entries["alice_model"].read_only and entries["teacher_model"].read_only
    assert entries["cli_model"].read_only and entries[next(iter(bundled))].read_only
    assert origin_of(user_models_dir(BOB) / "bob_model.npz", ALICE) is None
    # the Models page's list says whose each file is
    labels = catalogue_choices(owner=ALICE)
    assert any(label.endswith("alice_model (yours)") for label in labels)
    assert any(label.endswith("teacher_model (shared)") for label in labels)
    assert not any("bob_model" in label for label in labels)
    # a page built for Alice's session that asks for the catalogue without naming an owner (the Morph page) gets hers
    built = Page("probe", "Probe", "test_identity:_catalogue_probe", "").build(ExplorerSession(owner=ALICE))
    assert {e.name for variants in built.values() for e in variants.values()} >= {"alice_model", "teacher_model"}
    assert "bob_model" not in {e.name for variants in built.values() for e in variants.values()}


def _catalogue_probe(session):
    return families()


def test_an_upload_is_its_owners_and_never_writes_over_a_shared_file(home, tmp_path):
    shared = model_at(tmp_path / "teacher" / "digits.npz", 5)
    shared_bytes = shared.read_bytes()
    upload = model_at(tmp_path / "elsewhere" / "digits.npz", 6).read_bytes()
    alice = ModelsSession(owner=ALICE)
    assert alice.upload(upload, "digits.npz"), alice.error
    assert Path(alice.model_path) == user_models_dir(ALICE) / "digits.npz" and alice.source == "uploaded, saved by you"
    assert shared.read_bytes() == shared_bytes
    assert upload_target("digits.npz", upload, ALICE).parent == user_models_dir(ALICE)
    assert save_target("digits", ALICE) == user_models_dir(ALICE) / "digits.npz"
    assert alice.save_folder == str(user_models_dir(ALICE))
    bob = ModelsSession(owner=BOB)
    assert not any(value.startswith(str(user_models_dir(ALICE))) for value in bob.param.choice.objects.values())
    bob.open(shared)
    assert bob.source == "shared (read-only)"
    alice.refresh()
    assert {str(user_models_dir(ALICE) / "digits.npz"), str(shared)} <= set(alice.param.choice.objects.values())


# --- training runs: offered and saved only for their owner -------------------------------------------------------
def test_a_run_is_offered_only_to_its_owner_and_a_save_under_a_shared_name_stays_its_own(home, tmp_path):
    shared = model_at(tmp_path / "teacher" / "shared_name.npz", 7)
    cli = model_at(user_models_dir(None) / "shared_name.npz", 8)
    before = shared.read_bytes(), cli.read_bytes()
    budget = Budget(limit=2)
    alice = TrainSession(budget=budget, owner=ALICE)
    alice.param.update(**TINY)
    try:
        assert alice.start(), alice.error
        wait_until(lambda: (alice.poll(), alice.updates_done >= 3)[1], 300, interval=0.05, what="three updates")
        alice.stop()
        assert alice.phase == "stopped" and alice.resume_label.startswith("Resume")
        assert list(checkpoints_dir(ALICE).glob("*.npz")) and not checkpoints_dir(None).exists()
        for other in (BOB, None):
            assert newest_checkpoint(owner=other) is None
            tab = TrainSession(budget=budget, owner=other)
            assert tab.resume_label == "" and not tab.resume() and tab.error == "There is no checkpoint to resume."
            tab.close()
        assert TrainSession(budget=budget, owner=ALICE).resume_label.startswith("Resume")  # her next tab
        alice.model_name = "shared_name"
        path = alice.save()
        assert path == user_models_dir(ALICE) / "shared_name.npz", alice.error
        assert (shared.read_bytes(), cli.read_bytes()) == before
        assert {e.origin for e in catalog(owner=ALICE) if e.name == "shared_name"} == {"own", "shared"}
        assert user_files(BOB) == {"shared_name": "shared"}  # Bob sees the teacher's (one listing per folder)
    finally:
        alice.close()
    assert budget.in_use == 0


# --- the identity of a session ------------------------------------------------------------------------------------
def test_a_session_keeps_a_well_formed_cookie_id_and_gets_a_new_one_otherwise():
    assert resolve_identity({COOKIE_NAME: ALICE}, None, False) == (ALICE, ALICE)
    for cookies in ({}, {COOKIE_NAME: "../../etc/passwd-xxxxxx"}, {COOKIE_NAME: "short"}, {COOKIE_NAME: "x" * 65},
                    {COOKIE_NAME: 'a"; path=/; x=yyyyyyyyyy'}):
        owner, stored = resolve_identity(cookies, None, False)
        assert owner == stored and valid_browser_id(owner) and owner != cookies.get(COOKIE_NAME)
    assert resolve_identity({}, None, False)[0] != resolve_identity({}, None, False)[0]
    # a users file: the login name is the identity, whatever the cookie; a single password names nobody
    assert resolve_identity({COOKIE_NAME: ALICE}, "Zoë", True) == (owner_for_user("Zoë"), None)
    assert resolve_identity({COOKIE_NAME: ALICE}, "anything", False) == (ALICE, ALICE)


def test_a_served_session_takes_the_login_name_only_with_a_users_file(monkeypatch):
    """The wiring of ``session_identity`` to Panel's state (``pn.state`` stands in for a served session's)."""
    from types import SimpleNamespace

    from rbm_explorer.app import identity

    served = SimpleNamespace(curdoc=SimpleNamespace(session_context=object()), cookies={COOKIE_NAME: ALICE},
                             user="Zoë")
    monkeypatch.setattr(identity, "pn", SimpleNamespace(state=served))
    monkeypatch.setenv("RBM_EXPLORER_LOGIN_USERS", "1")
    assert identity.session_identity() == (owner_for_user("Zoë"), None)
    monkeypatch.setenv("RBM_EXPLORER_LOGIN_USERS", "0")  # one class password: the login name is anything typed
    assert identity.session_identity() == (ALICE, ALICE)
    served.curdoc = None  # not served: the machine's single user
    assert identity.session_identity() == (None, None)


def test_shared_models_must_be_an_existing_folder(tmp_path):
    parser = cli_main.build_parser()
    missing = tmp_path / "no_such_folder"
    with pytest.raises(UserError, match=f"--shared-models {missing}: no such folder"):
        serve_environment(parser.parse_args(["serve", "--shared-models", str(missing)]))
    a_file = model_at(tmp_path / "one.npz", 9)
    with pytest.raises(UserError, match="not a folder"):
        serve_environment(parser.parse_args(["serve", "--shared-models", str(a_file)]))
    env = serve_environment(parser.parse_args(["serve", "--shared-models", str(tmp_path)]))
    assert env[SHARED_MODELS_ENV] == str(tmp_path.resolve()) and env["RBM_EXPLORER_LOGIN_USERS"] == "0"
    users = tmp_path / "users.json"
    users.write_text('{"alice": "pw"}')
    for auth, login in ((str(users), "1"), ("pw", "0")):
        env = serve_environment(parser.parse_args(["serve", "--basic-auth", auth]))
        assert env["RBM_EXPLORER_LOGIN_USERS"] == login


# --- two students on one served app --------------------------------------------------------------------------------
def model_options(page) -> list[str]:
    return page.locator(".model-select select option").all_inner_texts()


def open_models_page(page, url):
    page.goto(url + "/explorer?page=models")
    wait_until(lambda: page.locator(".model-select select option").count() > 0, 120, what="the Models page")


def open_train_page(page, url):
    page.goto(url + "/explorer?page=train")
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=120_000)
    page.wait_for_timeout(1000)  # the resume offer is known when the page is built; let its button draw


def resume_offers(page) -> list[str]:
    buttons = page.locator(".train-resume button")
    return [buttons.nth(k).inner_text() for k in range(buttons.count()) if buttons.nth(k).is_visible()]


def identity_cookie(context) -> str:
    found = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
    assert len(found) == 1, context.cookies()
    assert found[0]["path"] == "/" and found[0]["sameSite"] == "Lax" and found[0]["expires"] > 0
    return found[0]["value"]


@pytest.mark.browser
def test_two_browsers_on_one_server_see_only_their_own_uploads_and_runs(tmp_path):
    """Student A uploads a model and starts and stops a run; student B, in another browser context (another
    cookie), is not offered either; a new page of A's browser (the same cookie) sees both."""
    home = tmp_path / "served_home"
    upload = model_at(tmp_path / "upload" / "alice_upload.npz", 11)
    with served_app(env={"RBM_EXPLORER_HOME": str(home)}) as url, chromium_contexts(2) as (alice, bob):
        page = watched_page(alice)
        open_models_page(page, url)
        page.locator("input[type=file]").set_input_files(str(upload))
        wait_until(lambda: any("alice_upload (yours)" in o for o in model_options(page)), 60, what="A's upload")
        alice_id = identity_cookie(alice)
        assert [p.name for p in home.glob("owners/*/models/*.npz")] == ["alice_upload.npz"]
        assert (home / "owners" / alice_id / "models" / "alice_upload.npz").read_bytes() == upload.read_bytes()

        open_train_page(page, url)  # a new session of A's browser: the cookie names A
        page.get_by_role("button", name="Start", exact=True).click()
        status = page.locator(".train-status p").first
        wait_until(lambda: "Training" in status.inner_text(), 180, interval=0.5, what="A's run to train")
        page.get_by_role("button", name="Stop", exact=True).click()
        # a run stops at its next update and then writes its checkpoint; on a loaded 2-core machine the pool's
        # niced worker may wait a while for the CPU, so the wait is generous and says where the run was
        try:
            wait_until(lambda: any(o.startswith("Resume") for o in resume_offers(page)), 300, interval=0.5,
                       what="A's resume offer")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; the run's status: {status.inner_text()!r}") from None
        assert list((home / "owners" / alice_id / "checkpoints").glob("*.npz"))
        assert page.foreign_requests == [] and page.page_errors == [], (page.foreign_requests, page.page_errors)

        other = watched_page(bob)
        open_models_page(other, url)
        assert not any("alice_upload" in o for o in model_options(other))
        open_train_page(other, url)
        assert resume_offers(other) == []
        bob_id = identity_cookie(bob)
        assert bob_id != alice_id and not (home / "owners" / bob_id / "checkpoints").exists()
        assert other.foreign_requests == [] and other.page_errors == [], (other.foreign_requests, other.page_errors)

        again = watched_page(alice)
        open_models_page(again, url)
        assert any("alice_upload (yours)" in o for o in model_options(again))
        open_train_page(again, url)
        assert any(o.startswith("Resume") for o in resume_offers(again))
        assert identity_cookie(alice) == alice_id
