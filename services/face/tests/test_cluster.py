"""cluster.py's pure parts: the recognition decision (driven by a stub distance table) and the
pairwise precision/recall of a clustering."""

from __future__ import annotations

import uuid

import pytest
from darkroom_face.cluster import Decision, Outcome, decide, pairwise_scores

P, Q = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("match_people", "nearest", "deferred", "expected"),
    [
        ([None], None, False, Decision(Outcome.UNMATCHED)),  # only itself
        ([None], P, True, Decision(Outcome.UNMATCHED)),  # only itself, even on retry
        ([None, None], None, False, Decision(Outcome.DEFERRED)),  # not core: wait
        ([None, P], None, False, Decision(Outcome.DEFERRED)),  # not core, even with a person
        ([None, P], None, True, Decision(Outcome.ASSIGNED, P)),  # retried: joins
        ([None, None], Q, True, Decision(Outcome.ASSIGNED, Q)),  # retried: nearest with person
        ([None, None], None, True, Decision(Outcome.UNMATCHED)),  # retried, nobody near
        ([None, None, None], None, False, Decision(Outcome.CREATED)),  # core: new person
        ([None, Q, P], None, False, Decision(Outcome.ASSIGNED, Q)),  # nearest matched person
        ([None, None, None], P, False, Decision(Outcome.ASSIGNED, P)),  # core, person beyond
    ],
)
def test_decide(
    match_people: list[uuid.UUID | None],
    nearest: uuid.UUID | None,
    deferred: bool,
    expected: Decision,
) -> None:
    assert decide(match_people, nearest, min_faces=3, deferred=deferred) == expected


def test_min_faces_one_makes_every_face_core() -> None:
    assert decide([None], None, min_faces=1, deferred=False) == Decision(Outcome.CREATED)


def _simulate_ids(
    points: dict[str, float], order: list[str], *, max_distance: float, min_faces: int
) -> dict[str, uuid.UUID | None]:
    """Faces on a line (position = descriptor) recognised in ``order``, the deferred ones retried
    afterwards, then a nightly pass: face -> person. The database's kNN is replaced by a
    distance table over the faces that exist so far."""
    person: dict[str, uuid.UUID | None] = {}
    state: dict[str, str] = {}

    def recognise(face: str, *, deferred: bool) -> None:
        near = sorted(
            (abs(points[face] - points[o]), o)
            for o in person
            if abs(points[face] - points[o]) <= max_distance
        )
        matches = [o for _, o in near[:min_faces]]
        nearest = next((person[o] for _, o in near if person[o] is not None), None)
        d = decide([person[o] for o in matches], nearest, min_faces=min_faces, deferred=deferred)
        if d.outcome is Outcome.CREATED:
            person[face] = uuid.uuid4()
        elif d.outcome is Outcome.ASSIGNED:
            person[face] = d.person_id
        state[face] = d.outcome.value

    for face in order:
        person[face] = None
        recognise(face, deferred=False)
    for face in [f for f in order if state[f] == "deferred"]:
        recognise(face, deferred=True)
    for deferred in (False, True):  # the nightly pass
        for face in [f for f in order if person[f] is None]:
            recognise(face, deferred=deferred)
    return person


def test_distance_table_two_people_apart_and_outlier_alone() -> None:
    points = {"a1": 0.0, "a2": 0.1, "a3": 0.2, "a4": 0.25, "b1": 5.0, "b2": 5.1, "b3": 5.2}
    points["x"] = 10.0  # an outlier: nobody within reach
    result = _simulate_ids(points, list(points), max_distance=0.5, min_faces=3)
    assert result["x"] is None
    a = {result[f] for f in ("a1", "a2", "a3", "a4")}
    b = {result[f] for f in ("b1", "b2", "b3")}
    assert len(a) == len(b) == 1 and a != b and None not in a | b


def test_distance_table_order_does_not_split_a_person() -> None:
    """Whatever the arrival order, one tight group becomes one person."""
    points = {f"f{i}": i * 0.1 for i in range(6)}
    for order in (list(points), list(points)[::-1], ["f3", "f0", "f5", "f1", "f4", "f2"]):
        result = _simulate_ids(points, order, max_distance=0.5, min_faces=3)
        assert len(set(result.values())) == 1 and None not in result.values(), order


def test_pairwise_scores() -> None:
    truth = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}
    perfect = pairwise_scores(truth, {"a": "x", "b": "x", "c": "x", "d": "y", "e": "y"})
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    assert (perfect.pairs_predicted, perfect.pairs_true) == (4, 4)
    # everything in one cluster: 4 of 10 pairs right, all true pairs found
    lumped = pairwise_scores(truth, dict.fromkeys(truth, "x"))
    assert lumped.precision == pytest.approx(0.4) and lumped.recall == 1.0
    assert lumped.f1 == pytest.approx(2 * 0.4 / 1.4)
    # c unclustered (None) and e absent: only a-b of the 4 true pairs found, no wrong pair
    partial = pairwise_scores(truth, {"a": "x", "b": "x", "c": None, "d": "y"})
    assert partial.precision == 1.0 and partial.recall == pytest.approx(1 / 4)
    # nothing predicted: precision is vacuously 1, recall 0, f1 0
    empty = pairwise_scores(truth, {})
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 0.0, 0.0)
