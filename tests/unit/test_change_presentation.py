"""How the dashboard groups changes: an asset's timeline by run, a run's changes by column."""

from __future__ import annotations

from datetime import UTC, datetime

from ic3sync.api.present import by_column, timeline
from ic3sync.db.views import ChangeRow

AT = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _change(change_id: int, run_id: int | None, column: str, at: datetime = AT) -> ChangeRow:
    return ChangeRow(
        change_id=change_id,
        asset_id=1,
        cmms_asset_id="A 1",
        run_id=run_id,
        table_name="ic3_asset_master",
        column_name=column,
        old_value="x",
        new_value="y",
        changed_at=at,
        source="cmms" if run_id is not None else "register",
    )


def test_a_timeline_has_one_entry_per_run_in_the_order_given():
    rows = [_change(5, 9, "mttr"), _change(4, 9, "criticality"), _change(2, 7, "mttr")]
    entries = timeline(rows)
    assert [(e.run_id, [c.change_id for c in e.changes]) for e in entries] == [
        (9, [5, 4]),
        (7, [2]),
    ]
    assert timeline([]) == []


def test_an_imports_changes_are_one_entry_per_import_between_the_runs():
    later = AT.replace(hour=9)
    rows = [
        _change(8, None, "asset_name", later),
        _change(7, None, "criticality", later),
        _change(6, None, "criticality", AT),
        _change(5, 9, "mttr"),
    ]
    entries = timeline(rows)
    assert [(e.source, e.run_id, [c.change_id for c in e.changes]) for e in entries] == [
        ("register", None, [8, 7]),
        ("register", None, [6]),
        ("cmms", 9, [5]),
    ]


def test_changes_group_by_column_in_first_seen_order():
    rows = [_change(1, 9, "mttr"), _change(2, 9, "criticality"), _change(3, 9, "mttr")]
    grouped = by_column(rows)
    assert list(grouped) == ["mttr", "criticality"]
    assert [c.change_id for c in grouped["mttr"]] == [1, 3]


def test_a_new_value_the_sync_could_not_use_is_not_shown_as_a_good_one():
    from ic3sync.api.dashboard.templating import environment
    from ic3sync.api.present import unusable

    assert unusable("mttr", "x:y") and unusable("availability", "n/a")
    assert not unusable("mttr", "10:00:00") and not unusable("criticality", "x:y")
    bad = _change(7, 9, "mttr").model_copy(update={"new_value": "x:y"})
    good = _change(6, 9, "criticality")
    html = (
        environment()
        .get_template("_asset_changes.html")
        .render(
            timeline=timeline([bad, good]),
            changes_total=2,
            timeline_shown=2,
            when=lambda at: at.isoformat(),
        )
    )
    assert '<ins class="new unusable">x:y</ins>' in html
    assert '<ins class="new">y</ins>' in html and html.count("could not be used") == 1
