"""The schema history of noticeflow's database (the ledger and the notice tables beside it), as
Alembic migrations: ``versions/NNNN_<slug>.py``, applied in order by ``ledger.migrate.upgrade``
(``noticeflow db upgrade``). Every schema change is a new file here; see docs/operations.md."""
