"""Private pieces of :mod:`modelworks.data.load`; import the public names from there.

``common``     constants, one-line messages and the normalisation every source goes through
``text``       delimited text files (encoding, delimiter, decimal mark)
``files``      every file format: the dispatch on the extension, Parquet, Excel, JSON, JSON Lines
``sql``        databases: SQLite opened read-only, other SQLAlchemy URLs in a rolled-back transaction
``sqlcheck``   the check that accepts a single read-only query, read by a SQL parser (sqlglot)
``sqllex``     its lexical wall: one ``SELECT``/``WITH`` statement under every lexical rule set
``chunks``     :class:`~modelworks.data.load.Chunks`, reading a table a chunk at a time
"""
