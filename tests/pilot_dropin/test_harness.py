"""The comparison the drop-in tests rely on: what counts as equal to the pilot, and what does not."""

from .harness import Layout, differences, normalise


def outcome(**changes):
    base = {
        "code": None,
        "files": [{"status": "transferred", "status_code": 0, "checksum": {}, "filesize": 0, "turl": "root://a//f"}],
        "traces": [{"clientState": "DONE", "url": None, "stateReason": "OK"}],
        "trees": {"base": {"job/f": {"size": 3, "adler32": "00c10062"}}},
    }
    base.update(changes)
    return base


def test_equal_outcomes_have_no_differences():
    assert differences(outcome(), outcome()) == []


def test_copytools_may_fill_what_the_pilot_left_empty():
    filled = outcome(
        files=[
            {
                "status": "transferred",
                "status_code": 0,
                "checksum": {"adler32": "00c10062"},
                "filesize": 3,
                "turl": "root://a//f",
            }
        ],
        traces=[{"clientState": "DONE", "url": "root://a//f", "stateReason": "OK"}],
    )
    assert differences(outcome(), filled) == []
    assert differences(filled, outcome()) != []  # but not drop what the pilot sets


def test_statuses_codes_states_urls_and_files_must_match():
    changed = [
        outcome(code=1099),
        outcome(files=[{"status": "failed", "status_code": 0, "checksum": {}, "filesize": 0, "turl": "root://a//f"}]),
        outcome(
            files=[{"status": "transferred", "status_code": 0, "checksum": {}, "filesize": 0, "turl": "root://b//f"}]
        ),
        outcome(traces=[{"clientState": "COPY_ERROR", "url": None, "stateReason": True}]),
        outcome(traces=[]),
        outcome(trees={"base": {}}),
    ]
    for other in changed:
        assert differences(outcome(), other) != []


def test_paths_of_a_run_are_normalised(tmp_path):
    layout = Layout(tmp_path / "run", tmp_path / "store")
    name = layout.unique("f.root", "$LFN")
    text = f"{tmp_path}/run/job/{name} root://h/{tmp_path}/store/x/{name}"
    assert normalise(text, layout) == "$BASE/job/$LFN root://h/$STORAGE/x/$LFN"
