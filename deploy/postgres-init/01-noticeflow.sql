-- The ledger's own database and role, next to Temporal's (created by auto-setup).
-- The role may read and append, never delete or rewrite: see docs/operations.md.
CREATE ROLE noticeflow LOGIN PASSWORD 'noticeflow';
CREATE DATABASE noticeflow OWNER noticeflow;
