"""The detection stages, in pipeline order (run by :mod:`graphlink.pipeline`).

ingest → encode → signals → graph (rarity weights, projection) → communities
(the partition) → scoring (with evidence) → stable_ids (``--previous``) →
drilldown. Each stage reads only its own config (:mod:`graphlink.config.stages`);
:mod:`graphlink.stages.encode` is also the integer-key counting library the
signal extractors share.
"""
