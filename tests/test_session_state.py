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


def test_trace_chart_sends_only_new_points_and_everything_after_a_restart():
    import numpy as np

    from rbm_explorer.app.live_components import TraceChart

    chart, sent = TraceChart(), []
    chart._send_msg = sent.append
    chart.show(np.arange(0, 5), np.array([0.0, 1, np.nan, 3, 4]))
    assert sent[-1] == {"reset": True, "steps": [0, 1, 2, 3, 4], "values": [0.0, 1.0, None, 3.0, 4.0], "keep": 5}
    chart.show(np.arange(2, 8), np.arange(2, 8) * 1.5)  # trimmed at the front, three new points
    assert sent[-1] == {"reset": False, "steps": [5, 6, 7], "values": [7.5, 9.0, 10.5], "keep": 6}
    count = len(sent)
    chart.show(np.arange(2, 8), np.arange(2, 8) * 1.5)  # nothing new: nothing sent
    assert len(sent) == count
    chart.show(np.arange(0, 3), np.zeros(3))  # a restart: the sweeps went back
    assert sent[-1] == {"reset": True, "steps": [0, 1, 2], "values": [0.0, 0.0, 0.0], "keep": 3}
    chart.show(np.arange(40, 42), np.ones(2))  # the page's last point is gone: all again
    assert sent[-1]["reset"] and sent[-1]["steps"] == [40, 41]
    assert list(chart.steps) == [40, 41] and list(chart.values) == [1.0, 1.0]
