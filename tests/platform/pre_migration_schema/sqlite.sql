-- The schema SQLModel.metadata.create_all made before migrations (commit 78af2f9), as it
-- emitted it on sqlite: what a database of that code holds. Generated; never edit.

CREATE TABLE ledger_entries (
	seq INTEGER NOT NULL,
	ts VARCHAR NOT NULL,
	stream VARCHAR NOT NULL,
	type VARCHAR NOT NULL,
	step VARCHAR NOT NULL,
	workflow_id VARCHAR,
	run_id VARCHAR,
	jurisdiction VARCHAR,
	citation VARCHAR,
	actor VARCHAR NOT NULL,
	data VARCHAR NOT NULL,
	prev_hash VARCHAR NOT NULL,
	key_id VARCHAR NOT NULL,
	hash VARCHAR NOT NULL,
	sig VARCHAR NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE (step)
);

CREATE INDEX ix_ledger_entries_jurisdiction ON ledger_entries (jurisdiction);

CREATE INDEX ix_ledger_entries_stream ON ledger_entries (stream);

CREATE INDEX ix_ledger_entries_workflow_id ON ledger_entries (workflow_id);

CREATE TABLE ledger_tip (
	id INTEGER NOT NULL,
	size INTEGER NOT NULL,
	last_hash VARCHAR NOT NULL,
	last_ts VARCHAR NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE ledger_tree_heads (
	id INTEGER NOT NULL,
	tree_size INTEGER NOT NULL,
	root_hash VARCHAR NOT NULL,
	timestamp VARCHAR NOT NULL,
	key_id VARCHAR NOT NULL,
	sig VARCHAR NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_ledger_tree_heads_tree_size ON ledger_tree_heads (tree_size);

CREATE TABLE notice_deliveries (
	obligation_id VARCHAR NOT NULL,
	recipient_ref VARCHAR NOT NULL,
	channel VARCHAR NOT NULL,
	round INTEGER NOT NULL,
	batch_no INTEGER NOT NULL,
	status VARCHAR NOT NULL,
	failure_kind VARCHAR,
	reason VARCHAR,
	document_sha256 VARCHAR,
	location VARCHAR,
	updated_at VARCHAR NOT NULL,
	PRIMARY KEY (obligation_id, recipient_ref, channel)
);

CREATE TABLE notice_delivery_batches (
	obligation_id VARCHAR NOT NULL,
	round INTEGER NOT NULL,
	batch_no INTEGER NOT NULL,
	last_ref VARCHAR NOT NULL,
	recipients INTEGER NOT NULL,
	updated_at VARCHAR NOT NULL,
	PRIMARY KEY (obligation_id, round, batch_no)
);

CREATE TABLE notice_roster_contacts (
	roster_id VARCHAR NOT NULL,
	generation INTEGER NOT NULL,
	consumer_ref VARCHAR NOT NULL,
	state VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	email VARCHAR,
	postal_address VARCHAR,
	electronic_consent BOOLEAN NOT NULL,
	producer_of_record VARCHAR,
	PRIMARY KEY (roster_id, generation, consumer_ref)
);

CREATE INDEX ix_notice_roster_contacts_state ON notice_roster_contacts (roster_id, generation, state, consumer_ref);

CREATE TABLE notice_rosters (
	roster_id VARCHAR NOT NULL,
	generation INTEGER NOT NULL,
	next_generation INTEGER NOT NULL,
	total INTEGER NOT NULL,
	content_sha256 VARCHAR NOT NULL,
	summary VARCHAR NOT NULL,
	PRIMARY KEY (roster_id)
);

CREATE TABLE privacy_consumers (
	consumer_ref VARCHAR NOT NULL,
	jurisdiction VARCHAR NOT NULL,
	has_email BOOLEAN NOT NULL,
	has_postal_address BOOLEAN NOT NULL,
	e_delivery_consent BOOLEAN NOT NULL,
	transacts_electronically BOOLEAN NOT NULL,
	key_id VARCHAR NOT NULL,
	contact VARCHAR NOT NULL,
	PRIMARY KEY (consumer_ref)
);

CREATE TABLE privacy_disclosure_openings (
	relationship_id VARCHAR NOT NULL,
	policy_version VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	opened_at VARCHAR NOT NULL,
	notice_id VARCHAR NOT NULL,
	citation VARCHAR NOT NULL,
	PRIMARY KEY (relationship_id, policy_version)
);

CREATE INDEX ix_privacy_disclosure_openings_version ON privacy_disclosure_openings (policy_version, status, relationship_id);

CREATE TABLE privacy_documents (
	policy_version VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	variant VARCHAR NOT NULL,
	documents VARCHAR NOT NULL,
	PRIMARY KEY (policy_version, kind, variant)
);

CREATE TABLE privacy_notice_deliveries (
	delivery_key VARCHAR NOT NULL,
	relationship_id VARCHAR NOT NULL,
	notice_id VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	policy_version VARCHAR,
	includes_opt_out_notice BOOLEAN NOT NULL,
	channel VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	delivered_at VARCHAR NOT NULL,
	acknowledged_at VARCHAR,
	returned_at VARCHAR,
	consumer_agreed_electronic BOOLEAN NOT NULL,
	isolated_transaction BOOLEAN NOT NULL,
	documents VARCHAR NOT NULL,
	batch_id VARCHAR,
	failure VARCHAR,
	PRIMARY KEY (delivery_key)
);

CREATE INDEX ix_privacy_notice_deliveries_kind ON privacy_notice_deliveries (kind, policy_version, status);

CREATE INDEX ix_privacy_notice_deliveries_relationship ON privacy_notice_deliveries (relationship_id, delivery_key);

CREATE TABLE privacy_opt_outs (
	election_id VARCHAR NOT NULL,
	relationship_id VARCHAR NOT NULL,
	consumer_ref VARCHAR NOT NULL,
	received_at VARCHAR NOT NULL,
	effective_at VARCHAR NOT NULL,
	npi_categories VARCHAR,
	recipient_categories VARCHAR,
	revocation_received_at VARCHAR,
	revocation_form VARCHAR,
	PRIMARY KEY (election_id)
);

CREATE INDEX ix_privacy_opt_outs_relationship ON privacy_opt_outs (relationship_id, election_id);

CREATE TABLE privacy_policy_versions (
	version_id VARCHAR NOT NULL,
	jurisdiction VARCHAR NOT NULL,
	effective_on VARCHAR NOT NULL,
	sha256 VARCHAR NOT NULL,
	body VARCHAR NOT NULL,
	PRIMARY KEY (version_id)
);

CREATE TABLE privacy_relationship_members (
	relationship_id VARCHAR NOT NULL,
	consumer_ref VARCHAR NOT NULL,
	PRIMARY KEY (relationship_id, consumer_ref)
);

CREATE INDEX ix_privacy_relationship_members_consumer ON privacy_relationship_members (consumer_ref, relationship_id);

CREATE TABLE privacy_relationships (
	relationship_id VARCHAR NOT NULL,
	jurisdiction VARCHAR NOT NULL,
	consumer_refs VARCHAR NOT NULL,
	is_customer BOOLEAN NOT NULL,
	isolated_transaction BOOLEAN NOT NULL,
	established_at VARCHAR,
	transaction_completed_at VARCHAR,
	policy_version VARCHAR NOT NULL,
	stage VARCHAR NOT NULL,
	ended_on VARCHAR,
	end_reason VARCHAR,
	end_citation VARCHAR,
	next_annual_due VARCHAR,
	last_annual_notice_on VARCHAR,
	workflow_id VARCHAR,
	PRIMARY KEY (relationship_id)
);

CREATE INDEX ix_privacy_relationships_annual ON privacy_relationships (stage, next_annual_due, relationship_id);

CREATE INDEX ix_privacy_relationships_policy ON privacy_relationships (policy_version, relationship_id);

CREATE TABLE regulator_submissions (
	submission_id VARCHAR NOT NULL,
	obligation_id VARCHAR NOT NULL,
	receipt VARCHAR NOT NULL,
	PRIMARY KEY (submission_id)
);

CREATE INDEX ix_regulator_submissions_obligation_id ON regulator_submissions (obligation_id);
