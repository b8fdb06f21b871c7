"""Workflows: what a run is, from input to saved bundle, on top of every layer below.

Each module owns the order of one kind of run and nothing below it knows it exists:
:mod:`.images` (image classification, :class:`~modelworks.workflows.images.ImageExperiment`). The tabular
run, clusters, anomalies and larger-than-memory tables move here next (docs/architecture.md).
"""
