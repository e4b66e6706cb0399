"""The pages' state objects publish read-only parameters: a view (or anyone outside the state) cannot set
them, the state's own ``publish`` can, and they are read-only again afterwards, even when the update fails."""

import numpy as np
import param
import pytest

from rbm_explorer.app.models_state import ModelsSession
from rbm_explorer.app.morph_state import MorphSession
from rbm_explorer.app.session_state import SessionState
from rbm_explorer.app.train_state import TrainSession

PUBLISHED = {
    MorphSession: ("mosaic", "steps", "frame", "measured_rate", "released_modes", "traces", "class_shares",
                   "status", "error"),
    TrainSession: ("running", "phase", "updates_done", "epoch", "mosaic", "status", "error", "resume_label",
                   "saved_path", "can_save"),
    ModelsSession: ("model_path", "summary", "mosaic", "error", "notice"),
}


def another_value(parameter, value):
    """A valid value other than ``value`` for a parameter of this type."""
    if isinstance(parameter, param.Boolean):
        return not value
    if isinstance(parameter, param.Integer):
        return (value or 0) + 1
    if isinstance(parameter, param.Number):
        return (value or 0.0) + 1.5
    if isinstance(parameter, param.String):
        return f"{value} changed"
    if isinstance(parameter, param.List):
        return [*value, "changed"]
    if isinstance(parameter, param.Dict):
        return {**value, "changed": 1}
    if isinstance(parameter, param.Array):
        return np.zeros((2, 2))
    raise AssertionError(f"no other value for {type(parameter).__name__}")


def make(cls):
    if cls is MorphSession:
        return MorphSession(n_chains=4, seed=0)
    return cls()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("cls", list(PUBLISHED), ids=lambda c: c.__name__)
def test_published_parameters_are_read_only_outside_the_state(cls):
    state = make(cls)
    try:
        for name in PUBLISHED[cls]:
            assert state.param[name].constant, f"{cls.__name__}.{name} is not read-only"
            before = getattr(state, name)
            with pytest.raises(TypeError, match="[Cc]onstant parameter"):
                setattr(state, name, another_value(state.param[name], before))
            assert getattr(state, name) is before
        state.publish(error="shown")
        assert state.error == "shown" and state.param["error"].constant
    finally:
        getattr(state, "close", lambda: None)()  # the Models page has no live work to stop


def test_publish_locks_again_after_a_failed_update():
    class Toy(SessionState):
        count = param.Integer(default=0, bounds=(0, 10), constant=True)

    toy = Toy()
    with pytest.raises(ValueError):
        toy.publish(count=99)
    assert toy.param["count"].constant and toy.count == 0
    toy.publish(count=3)
    with pytest.raises(TypeError):
        toy.count = 4
    assert toy.count == 3 and Toy.param["count"].constant


def test_run_action_shows_a_failure_instead_of_raising():
    class Toy(SessionState):
        pass

    toy = Toy()
    assert toy.run_action(lambda: 1 / 0) is None and toy.error == "ZeroDivisionError: division by zero"
    assert toy.run_action(lambda: int("x")) is None and "invalid literal" in toy.error
    assert toy.run_action(lambda: 5) == 5 and toy.error == ""
