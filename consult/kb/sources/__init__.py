"""Readers for the official source files (CMS NCCI, HCPCS, PFS RVU, licensed CPT).

``files`` finds and opens them (plain, gzipped, zipped), ``detect`` recognizes them by name,
and one module per layout parses them into plain records for ``consult.kb.build``.
"""
