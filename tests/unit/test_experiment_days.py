"""how long an experiment ran: its end is noted when it is completed, and taken back with an undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db.models import Experiment
from app.db.models.experiments import ExperimentStatus

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _running() -> Experiment:
    experiment = Experiment(status=ExperimentStatus.RUNNING)
    experiment.started_at = START
    return experiment


def test_completing_notes_the_end_once_and_an_undo_takes_it_back() -> None:
    experiment = _running()
    assert experiment.ended_at is None
    experiment.status = ExperimentStatus.COMPLETED
    ended = experiment.ended_at
    assert ended is not None and datetime.now(UTC) - ended < timedelta(seconds=5)
    experiment.status = ExperimentStatus.COMPLETED  # the same status again (an edit that resends it)
    assert experiment.ended_at is ended
    experiment.status = ExperimentStatus.PAUSED  # an undo puts back what it was
    assert experiment.ended_at is None
    assert Experiment(status=ExperimentStatus.COMPLETED).ended_at is not None  # created completed
    assert Experiment(status=ExperimentStatus.DRAFT).ended_at is None


def test_days_running_count_to_the_end_then_to_the_archive_then_to_now() -> None:
    experiment = _running()
    experiment.status = ExperimentStatus.COMPLETED
    experiment.ended_at = START + timedelta(days=3, hours=2)
    experiment.updated_at = START + timedelta(days=20)  # archived and restored, or renamed, much later
    assert experiment.days_running == 3
    experiment.ended_at = None  # completed before the end was noted: its last change stands in
    assert experiment.days_running == 20

    paused = _running()
    paused.status = ExperimentStatus.PAUSED
    paused.archived_at = START + timedelta(days=5, hours=23)
    assert paused.days_running == 5

    running = _running()
    assert running.days_running == (datetime.now(UTC) - START).days
    assert Experiment(status=ExperimentStatus.DRAFT).days_running is None
