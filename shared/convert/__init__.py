"""Converters of unpacked members into query formats (``format: parquet``).

The converter needs DuckDB, which a deployment package carries only when built with
``--with-parquet`` (``deploy/package.py``); :mod:`shared.convert.parquet` imports it when a
delivery asks for Parquet, never at a cold start.
"""
