"""Files on disk: atomic writes (:mod:`~graphlink.store.atomic`), the one output-folder reader and
writer (:mod:`~graphlink.store.outputs`, over the :class:`~graphlink.store.folder.Outputs` view) and
redaction (:mod:`~graphlink.store.redact`). Names and schemas: :mod:`graphlink.contract`."""
