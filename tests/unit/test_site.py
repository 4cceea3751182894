import json

import pytest

from copytools.errors import BadSiteDescription
from copytools.site import load_queue, load_storages, queue_from_dict, storages_from_dict

QUEUE = {
    "nickname": "EXAMPLE_PQ",
    "atlas_site": "EXAMPLE-SITE",
    "type": "unified",
    "acopytools": {"read_lan": ["rucio"], "pw": ["rucio"], "pl": ["gfalcopy"]},
    "acopytools_schemas": {"write_lan": {"gfal": ["davs", "root"], "default": ["root"]}},
    "copytools": {"rucio": {"setup": ""}, "xrdcp": {"setup": "/x/setup.sh"}},
    "astorages": {"read_lan": ["A_DATADISK", "A_SCRATCHDISK"], "pw": ["A_DATADISK"]},
    "direct_access_lan": True,
    "allow_wan": "false",
    "maxinputsize": 14336,
    "maxwdir": "16336",
    "catchall": "",
    "params": {"allow_altstageout": 1},
}
STORAGES = {
    "A_DATADISK": {
        "name": "A_DATADISK",
        "id": 1234,
        "type": "DATADISK",
        "token": "ATLASDATADISK",
        "is_deterministic": True,
        "arprotocols": {
            "write_lan": [{"endpoint": "root://x:1094", "path": "//atlas/rucio/", "flavour": "XROOTD", "id": 1}]
        },
    }
}


def test_queue_fields():
    queue = queue_from_dict({"EXAMPLE_PQ": QUEUE})
    assert (queue.name, queue.site, queue.direct_access_lan, queue.allow_wan, queue.maxwdir) == (
        "EXAMPLE_PQ",
        "EXAMPLE-SITE",
        True,
        False,
        16336,
    )
    assert queue.copytools_for(["pw"]) == ["rucio"]
    assert queue.storages_for(["write_lan", "pw"]) == ["A_DATADISK"]
    assert queue.resolve_allowed_schemas(["write_lan"], "gfal") == ["davs", "root"]
    assert queue.resolve_allowed_schemas(["write_lan"], "gfalcopy") == ["root"]
    assert queue.resolve_allowed_schemas(["read_lan"], "gfal") == []


def test_acopytools_given_as_a_string_is_parsed():
    queue = queue_from_dict({**QUEUE, "acopytools": "{'pr': ['mv']}"})
    assert queue.acopytools == {"pr": ["mv"]}


def test_storage_fields(tmp_path):
    path = tmp_path / "ddm.json"
    path.write_text(json.dumps(STORAGES))
    storage = load_storages(path)["A_DATADISK"]
    assert (storage.pk, storage.token, storage.is_deterministic) == (1234, "ATLASDATADISK", True)
    assert storage.protocols_for(["write_wan", "write_lan"])[0]["endpoint"] == "root://x:1094"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"atlas_site": "X"}, "nickname"),
        ({**QUEUE, "maxwdir": "lots"}, "maxwdir"),
        ({**QUEUE, "allow_lan": "maybe"}, "allow_lan"),
        ({**QUEUE, "acopytools": {"pr": "x" and 5}}, "acopytools"),
        ({**QUEUE, "copytools": {"rucio": "setup"}}, "copytools"),
        ([], "JSON object"),
    ],
)
def test_bad_queue_fields_are_named(data, words):
    with pytest.raises(BadSiteDescription) as info:
        queue_from_dict(data)
    assert words in info.value.message


def test_bad_storage_protocol_is_named():
    bad = {"A": {"arprotocols": {"write_lan": [{"path": "/x"}]}}}
    with pytest.raises(BadSiteDescription, match="endpoint"):
        storages_from_dict(bad)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(BadSiteDescription, match="cannot read queue description"):
        load_queue(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadSiteDescription, match="not valid JSON"):
        load_queue(bad)
