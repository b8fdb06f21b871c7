"""Workflows: what a run is, from input to saved bundle, on top of every layer below.

Each module owns the order of one kind of run and nothing below it knows it exists:
:mod:`.images` (image classification, :class:`~modelworks.workflows.images.ImageExperiment` and
:func:`~modelworks.workflows.images.run_images`) and :mod:`.unsupervised` (clusters and anomalies:
:func:`~modelworks.workflows.unsupervised.run_clustering`,
:func:`~modelworks.workflows.unsupervised.run_anomalies`). A run tells its caller of each step through
an events object that the command line implements to print; the run returns a dataclass. The tabular
run and larger-than-memory tables move here next (docs/architecture.md).
"""
