"""Break-it review of session 43 (helper brk43): ``--json``'s escaping and the reading of words run together
(graphlink.stages.signals.runs.read_runs). Each test failed on main a85e85e."""
import json

from graphlink.views.safety import json_escaped


def test_json_escapes_del_in_a_document_of_ascii_only():
    # a85e85e: a document of ASCII only was returned as is, DEL (0x7f, which json.dumps does not escape) raw
    doc = json_escaped(json.dumps({"prompt": "rm\x7f -rf"}, ensure_ascii=False))
    assert "\x7f" not in doc and "\\u007f" in doc
    assert json.loads(doc)["prompt"] == "rm\x7f -rf"
