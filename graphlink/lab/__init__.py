"""The measuring stick: the campaign simulator (:mod:`~graphlink.lab.simulate`), evaluation against
its labels (:mod:`~graphlink.lab.evaluate`), the shared-identifier baseline
(:mod:`~graphlink.lab.baseline`) and the ``simulate`` / ``evaluate`` commands
(:mod:`~graphlink.lab.commands`)."""
