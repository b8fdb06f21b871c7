"""Private pieces of :mod:`modelworks.data.profile`; import the public names from there.

``common``        thresholds, :class:`~modelworks.data.profile.ProfileWarning` and value formatting
``columns``       per-column statistics, distribution fits, duplicate rows and the column warnings
``target``        the target's summary and warnings, its encoding and the target-rate tables
``associations``  feature-target associations (Pearson/Spearman, Cramér's V, correlation ratio)
``leakage``       the single-feature leakage check (cross-validated decision trees)
``result``        :class:`~modelworks.data.profile.Profile`: its JSON export and Rich rendering
"""
