#!/usr/bin/env bash
# The ledger on its own: a key, a handful of recorded steps of a sample cybersecurity event,
# a signed tree head, verification of the database, an examination bundle and its offline check.
set -euo pipefail
cd "$(dirname "$0")/.."
NF=.venv/bin/noticeflow
export NOTICEFLOW_HOME=${NOTICEFLOW_HOME:-.noticeflow/demo}
export NOTICEFLOW_LOG_JSON=false NOTICEFLOW_LOG_LEVEL=WARNING
rm -rf "$NOTICEFLOW_HOME"
mkdir -p "$NOTICEFLOW_HOME"

echo "== signing key"
$NF ledger keygen --out "$NOTICEFLOW_HOME/keys" | head -2

echo "== recording the steps of incident INC-2026-0042"
rec() { $NF ledger append --stream incident:INC-2026-0042 --actor "$1" --type "$2" --step "$3" \
        --jurisdiction "$4" --citation "$5" --data "$6" >/dev/null; echo "  $2 ($4)"; }
rec api:user:jdoe incident.intake_recorded INC-2026-0042/intake TN "Tenn. Code Ann. § 56-2-1006(a)" \
    '{"source": "third_party_service_provider", "affected_states": ["TN", "MO", "GA"], "consumers": 1843}'
rec api:user:jdoe incident.determined INC-2026-0042/determination TN "RSMo § 375.1402(3)" \
    '{"is_cybersecurity_event": true, "exclusion": null}'
rec worker commissioner_notice.sent INC-2026-0042/commissioner/TN TN "Tenn. Code Ann. § 56-2-1006(a)(1)" \
    '{"report_sha256": "3f1c0e8b5d2a9f7c6e4b1a0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b", "items_missing": ["L"]}'
rec user:mwong consumer_notice.mailed_by_hand INC-2026-0042/consumer/TN/letters-1 TN "Tenn. Code Ann. § 56-2-1006(c)(1)" \
    '{"letters": 1204, "print_batch_sha256": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"}'
rec user:mwong commissioner_notice.call_logged INC-2026-0042/commissioner/MO/call-1 MO "RSMo § 375.1405" \
    '{"department_contact": "Missouri DCI, cybersecurity unit", "minutes": 15}'

echo "== signed tree head"
$NF ledger head
echo "== verifying the database"
$NF ledger verify
echo "== exporting incident INC-2026-0042 for the examiner"
rm -rf "$NOTICEFLOW_HOME/export"
$NF ledger export --out "$NOTICEFLOW_HOME/export" --stream incident:INC-2026-0042 | head -4
echo "== verifying the bundle offline"
$NF ledger verify "$NOTICEFLOW_HOME/export" --keys "$NOTICEFLOW_HOME/keys/keyring.json"
echo
echo "Bundle: $NOTICEFLOW_HOME/export (open report.html; VERIFY.md explains an independent check)"
