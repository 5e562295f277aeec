"""What investigators look at, all read through :func:`graphlink.store.outputs.load_outputs`.

Notebook objects (:mod:`~graphlink.views.result`, :mod:`~graphlink.views.cluster`),
explanations (:mod:`~graphlink.views.explain`), evidence in human terms
(:mod:`~graphlink.views.evidence`, :mod:`~graphlink.views.schedule`), the one plots module
(:mod:`~graphlink.views.plots`), the HTML report (:mod:`~graphlink.views.report`),
exports with the one cluster graph and case file (:mod:`~graphlink.views.export`),
the terminal view of ``show`` (:mod:`~graphlink.views.terminal`) and escaping of
attacker-written text (:mod:`~graphlink.views.safety`).
"""
