"""Reports for people: the examiner's report of an examination bundle (``reports.examiner``), its
timeline picture (``reports.timeline``), the steps in words (``reports.words``) and printing to
PDF in headless Chromium (``reports.pdf``). The live dashboard renders the same view model.

Layering: reports read ledger entries as plain dicts and may use ``models`` and ``rules`` (pure);
they import nothing from ``activities``, ``api``, ``workflows`` or the CLI.
"""
